"""townsquare.text.langid: short, mixed and real posts in English, Chinese and other languages."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from townsquare.text import detect_language, detect_languages

DATASETS = Path(os.environ.get("TOWNSQUARE_DATASETS", Path(__file__).resolve().parents[2] / "shared" / "datasets"))

# Sentences written for these tests (not from a dataset): everyday, tweet-like, several lengths.
GERMAN = [
    "Heute ist so ein schöner Tag, ich gehe gleich in den Park.",
    "Warum ist der Zug schon wieder zu spät? Ich verpasse meinen Termin.",
    "Das neue Handy ist echt super, der Akku hält zwei Tage.",
    "Wir sehen uns morgen beim Training, vergiss die Schuhe nicht!",
    "Ich kann nicht glauben, dass das Spiel so ausgegangen ist.",
    "Gestern Abend waren wir im Kino, der Film war leider langweilig.",
    "Kann mir jemand ein gutes Restaurant in Hamburg empfehlen?",
    "Der Kundenservice hat mein Problem in fünf Minuten gelöst. Danke!",
    "Endlich Wochenende! Zeit für Kaffee und Kuchen mit der Familie.",
    "Meine Bestellung ist seit einer Woche unterwegs, langsam werde ich ungeduldig.",
    "Hallo zusammen, wie geht es euch?",
    "Guten Morgen aus Berlin!",
    "Schönes Wochenende euch allen",
    "Was für ein Spiel gestern!",
    "Die Preise im Supermarkt werden jeden Monat höher.",
]
FRENCH = [
    "Il fait tellement beau aujourd'hui, je vais me promener au bord de la Seine.",
    "Pourquoi le train est encore en retard ce matin ?",
    "Ce nouveau téléphone est génial, la batterie tient deux jours.",
    "On se voit demain soir au restaurant, n'oublie pas de réserver.",
    "Je n'arrive pas à croire que le match s'est terminé comme ça.",
    "Hier soir nous sommes allés au cinéma, le film était vraiment nul.",
    "Quelqu'un peut me conseiller un bon livre pour les vacances ?",
    "Le service client a réglé mon problème en cinq minutes. Merci !",
    "Enfin le week-end ! Café et croissants avec la famille.",
    "Ma commande n'est toujours pas arrivée après deux semaines.",
    "Bonjour à tous, bonne journée !",
    "Quelle soirée incroyable hier",
    "Je suis tellement fatigué ce soir",
    "Les prix augmentent chaque mois au supermarché.",
    "C'est la meilleure nouvelle de l'année !",
]
SPANISH = [
    "Hoy hace un día precioso, voy a dar un paseo por el parque.",
    "¿Por qué el metro siempre llega tarde cuando tengo prisa?",
    "Este teléfono nuevo es increíble, la batería dura dos días.",
    "Nos vemos mañana en el gimnasio, no te olvides de las zapatillas.",
    "No puedo creer que el partido terminara así.",
    "Anoche fuimos al cine y la película fue muy aburrida.",
    "¿Alguien me puede recomendar un buen restaurante en Madrid?",
    "El servicio al cliente resolvió mi problema en cinco minutos. ¡Gracias!",
    "¡Por fin es viernes! Hora de descansar con la familia.",
    "Mi pedido todavía no ha llegado después de dos semanas.",
    "Buenos días a todos",
    "Qué partido tan increíble anoche",
    "Estoy muy cansado hoy",
    "Los precios suben cada mes en el supermercado.",
    "Feliz cumpleaños, hermana, te quiero mucho",
]
OTHER_LANGUAGES = [
    "Hoje o dia está lindo, vou caminhar na praia com meus amigos.",  # pt
    "Não acredito que o jogo terminou assim, que vergonha.",
    "Oggi è una bellissima giornata, andiamo al mare con gli amici.",  # it
    "Non riesco a credere che la partita sia finita così.",
    "Vandaag is het mooi weer, we gaan naar het strand.",  # nl
    "Ik kan niet geloven dat de wedstrijd zo is afgelopen.",
    "Bugün hava çok güzel, arkadaşlarla sahile gidiyoruz.",  # tr
    "Hari ini cuacanya sangat cerah, saya mau pergi ke pantai.",  # id
    "Сегодня отличная погода, идём гулять в парк.",  # ru
    "اليوم الطقس جميل جدا وسنذهب إلى الشاطئ",  # ar
    "今日はとても良い天気ですね。",  # ja: kana beside the kanji
    "ありがとう",
    "오늘 날씨가 정말 좋네요",  # ko
    "Σήμερα έχει πολύ ωραίο καιρό.",  # el
    "आज मौसम बहुत अच्छा है",  # hi
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("lol", "en"),
        ("omg same", "en"),
        ("Good morning!", "en"),
        ("nice pic @user", "en"),
        ("I can't believe they cancelled the show #sad https://t.co/x", "en"),
        ("Just landed in 北京!", "en"),
        ("好耶", "zh"),
        ("哈哈哈", "zh"),
        ("謝謝你的幫忙", "zh"),  # traditional
        ("我今天买了iPhone 15 Pro真的很好用", "zh"),
        ("RT @user: 这个太棒了 #AcmePhone", "zh"),
        ("#明日方舟# 06月17日16:00闪断更新公告", "zh"),
        ("这个app太好用了 best app ever", "zh"),
        ("Ｈｅｌｌｏ ｅｖｅｒｙｏｎｅ", "en"),  # full-width Latin is still English
        ("Hola", "other"),
        ("Merci beaucoup", "other"),
        ("Danke schön", "other"),
        ("", "und"),
        ("😂😂😂", "und"),
        ("12345 !!!", "und"),
        ("https://t.co/abc @user", "und"),
        ("#love #life", "en"),  # only hashtags: judged on their words
    ],
)
def test_short_and_mixed_posts(text, expected):
    assert detect_language(text) == expected


def test_other_languages_are_other():
    texts = GERMAN + FRENCH + SPANISH + OTHER_LANGUAGES
    labels = detect_languages(texts)
    wrong = [(t, label) for t, label in zip(texts, labels, strict=True) if label != "other"]
    assert not wrong


def test_batch_matches_single_and_keeps_order():
    texts = ["lol", "好耶", "Bonjour à tous, bonne journée !", "", "今日はとても良い天気ですね。"]
    assert detect_languages(texts) == [detect_language(t) for t in texts] == ["en", "zh", "other", "und", "other"]
    assert detect_languages([]) == []


def _lines(path: Path, limit: int) -> list[str]:
    with path.open(encoding="utf-8") as f:
        return [line.rstrip("\n") for _, line in zip(range(limit), f, strict=False)]


@pytest.mark.skipif(not (DATASETS / "tweeteval").is_dir(), reason=f"TweetEval not found under {DATASETS} (set TOWNSQUARE_DATASETS)")
def test_tweeteval_tweets_are_english():
    # Tweets mix slang, hashtags and @user; the benchmark measures all 82k (98.5% "en"; the rest are
    # place-name check-ins, Spanish tweets and the like).
    texts = []
    for task in ("offensive", "sentiment", "emotion", "irony", "emoji"):
        texts += _lines(DATASETS / "tweeteval" / task / "val_text.txt", 400)
    labels = detect_languages(texts)
    assert labels.count("en") / len(texts) >= 0.97
    assert labels.count("zh") == 0


@pytest.mark.skipif(not (DATASETS / "chnsenticorp").is_dir(), reason=f"ChnSentiCorp not found under {DATASETS} (set TOWNSQUARE_DATASETS)")
def test_chnsenticorp_reviews_are_chinese():
    rows = _lines(DATASETS / "chnsenticorp" / "train.tsv", 3001)[1:]
    texts = [row.split("\t", 1)[1] for row in rows]
    labels = detect_languages(texts)
    assert labels.count("zh") / len(texts) >= 0.995
    # the few that are not "zh" are reviews written in English
    assert {label for label in labels if label != "zh"} <= {"en"}
