"""Per-post analysis in one batched pass: embed once, run every head on the same matrix.

    from townsquare.understand import Analyzer
    records = Analyzer().analyze(["I love this!", "这家酒店太差了"])

Each record is a dict:

* ``lang``: ``en``, ``zh``, ``other`` or ``und`` from `townsquare.text.detect_languages`
  (a script check, mostly-Han text is ``zh``, if that package is missing); pass ``langs`` to
  skip detection. Only ``zh*`` changes which heads run.
* ``sentiment``: ``{"label": negative|neutral|positive, "scores": {...}}``. English and
  other non-Chinese posts use the 3-way head trained on SemEval tweets. Chinese posts use binary
  polarity models for the negative/positive split and the 3-way head for neutral:
  ``neutral = zh_neutral(p3(neutral), p_zh)``, ``negative/positive = (1 - neutral) * p_zh``, where
  ``p_zh`` averages the ``sentiment_zh`` head and the fine-tuned Chinese encoder
  (`townsquare.understand.zh_sentiment`, when its folder ``sentiment_zh_encoder`` is next to
  the heads; one more encoder pass per Chinese post). Both learnt from ChnSentiCorp reviews and
  English tweets (`townsquare.understand.data.sentiment_zh_train`).
* ``emotion``: ``{"label": anger|joy|optimism|sadness, "scores": {...}}``. For Chinese posts the
  polarity (anger + sadness against joy + optimism) comes from the Chinese sentiment models (`zh_emotion`).
* ``offensive``, ``hate``, ``irony``, ``crisis_informative``: probabilities. These heads, like
  ``emotion`` and the 3-way sentiment head, are trained on English tweets only; Chinese posts
  get them through the shared multilingual embedding alone, without their n-gram weights or
  VADER (cross-lingual transfer, not measured on Chinese data). The English sentiment, emotion and
  offensive heads also read VADER's scores of English posts (`features.lexicon_scores`).
* ``toxicity``: ``max(offensive, hate)``. No toxicity labels exist in the training data, so it
  is derived: the probability that a post is offensive *or* hateful is at least the larger of
  the two, and equals it when one implies the other (hate speech is nearly always offensive);
  a noisy-OR would assume the two are independent, which they are not.
* ``pii``: ``[{"kind", "start", "end", "text"}]`` from `townsquare.text.find_pii_many`, with
  offsets into the text as given (after replacing invalid characters).
* ``error``: ``None``, or one line saying why this post could not be analysed (empty text,
  not a string); the other fields are then ``None``. One bad post never fails the batch.

The embeddings are returned by `Analyzer.embed` so a caller can store them with the post,
and `Analyzer.analyze_embedded` analyses from stored embeddings without recomputing them.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from townsquare.models.cpu import blas_threads
from townsquare.models.embedder import Embedder, get_embedder
from townsquare.models.heads import Head, HeadSet
from townsquare.understand.features import LEXICON_FEATURES, clean, hashed_ngrams, lexicon_scores

HEADS_DIR = Path(__file__).resolve().parent.parent / "assets" / "understand"
SENTIMENT = ("negative", "neutral", "positive")
EMOTION = ("anger", "joy", "optimism", "sadness")
PROBABILITIES = ("offensive", "hate", "irony", "crisis_informative")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LETTER = re.compile(r"[^\W\d_]")
_BAD_CHARS = {c: " " for c in range(32) if chr(c) not in "\n\t"}


def _script_lang(text: str) -> str:
    letters = len(_LETTER.findall(text))
    return "zh" if letters and len(_HAN.findall(text)) >= 0.3 * letters else "en"


def _detect_langs(texts: list[str]) -> list[str]:
    try:
        from townsquare.text import detect_languages
    except ImportError:  # the text package is optional here: fall back to a script check
        return [_script_lang(t) for t in texts]
    return detect_languages(texts)


def _find_pii(texts: list[str]) -> list[list[dict]]:
    try:
        from townsquare.text import find_pii_many
    except ImportError:
        return [[] for _ in texts]
    return [[{"kind": s.kind, "start": s.start, "end": s.end, "text": s.text} for s in spans]
            for spans in find_pii_many(texts)]


def _sanitise(text: object) -> tuple[str | None, str | None]:
    """(usable text, None) or (None, one-line error)."""
    if not isinstance(text, str):
        return None, f"text: expected a string, got {type(text).__name__} — send the post's text"
    # lone surrogates and control characters come from broken upstream encodings; each is
    # replaced by one character
    text = text.encode("utf-8", "replace").decode("utf-8").translate(_BAD_CHARS)
    if not text.strip():
        return None, "text: empty — nothing to analyse; send a post with some text"
    return text, None  # same length as the input, so PII offsets stay valid


class Analyzer:
    """All per-post fields in one batched pass. Thread-compatible, not thread-safe."""

    def __init__(self, embedder: Embedder | None = None, heads_dir: Path | str | None = None):
        self.embedder = embedder or get_embedder()
        folder = Path(heads_dir) if heads_dir else HEADS_DIR
        names = ("sentiment", "sentiment_zh", "emotion", *PROBABILITIES)
        missing = [n for n in names if not (folder / n / "config.json").exists()]
        if missing:
            from townsquare.errors import BadInput

            raise BadInput("heads_dir", f"{folder} lacks trained heads {missing}",
                           "reinstall townsquare or run scripts/train_understand.py")
        self.heads = {n: Head.load(folder / n) for n in names}
        self.head_set = HeadSet(self.heads)
        self._zh_folder = folder / "sentiment_zh_encoder"
        self._zh_model = None

    @property
    def zh_model(self):  # noqa: ANN201 - a FineTunedSentiment, or None without its folder
        """The fine-tuned Chinese sentiment encoder, loaded with the first Chinese post."""
        if self._zh_model is None and (self._zh_folder / "encoder.npz").exists():
            from townsquare.understand.zh_sentiment import FineTunedSentiment

            # the embedder's precision and threads: a Ray actor's embedder runs on the CPUs Ray gave it
            self._zh_model = FineTunedSentiment(self._zh_folder, int8=getattr(self.embedder, "mode", None) == "int8",
                                                threads=getattr(self.embedder, "threads", 2))
        return self._zh_model

    def embed(self, texts: list[str]) -> np.ndarray:
        """The post embeddings the heads read (store them; `analyze_embedded` reuses them)."""
        return self.embedder.embed([clean(t) for t in texts])

    def analyze(self, texts: list, langs: list[str | None] | None = None) -> list[dict]:
        return self._run(texts, langs, None)

    def analyze_embedded(self, texts: list, embeddings: np.ndarray,
                         langs: list[str | None] | None = None) -> list[dict]:
        """Like `analyze`, with stored embeddings (rows aligned with ``texts``)."""
        if len(embeddings) != len(texts):
            from townsquare.errors import BadInput

            raise BadInput("embeddings", f"{len(embeddings)} rows for {len(texts)} texts",
                           "pass one embedding row per text")
        return self._run(texts, langs, np.asarray(embeddings, dtype=np.float32))

    def _run(self, texts: list, langs: list[str | None] | None, emb: np.ndarray | None) -> list[dict]:
        records: list[dict] = [{} for _ in texts]
        good, clean_texts = [], []
        for i, raw in enumerate(texts):
            text, error = _sanitise(raw)
            if error:
                records[i] = _error_record(error)
            else:
                good.append(i)
                clean_texts.append(text)
        if not good:
            return records
        model_texts = [clean(t) for t in clean_texts]
        given = [langs[i] if langs is not None else None for i in good]
        # Language, n-grams and PII are mostly compiled code that lets go of the GIL: they run
        # beside the embedding, which leaves a core idle for parts of its pass. VADER is pure Python
        # and would hold the GIL that the encoder's threads need between their compiled loops (beside
        # the embedding it cost 17 % of the throughput, after it 14 %), so it runs after; with
        # `FastVader` it costs ~5 % (alternating runs, warm: 2,832-2,970 -> 2,716-2,770 posts/s).
        with ThreadPoolExecutor(1) as pool:
            side = pool.submit(self._text_features, clean_texts, model_texts, given)
            emb = self.embedder.embed(model_texts) if emb is None else emb[good]
            ngrams, pii = side.result()
        lexicon = self._lexicon(model_texts, given)
        is_zh = np.array([str(g).startswith("zh") for g in given])
        p_zh = None
        zh_rows = np.flatnonzero(is_zh)
        if is_zh.any() and self.zh_model is not None:
            p_zh = self.zh_model.predict_proba([model_texts[k] for k in zh_rows])
        asks = np.array([asks_question(model_texts[k]) for k in zh_rows], dtype=bool)
        with blas_threads(1):  # small products; BLAS threads would spin on the encoders' cores
            fields = self._score(emb, ngrams, lexicon, is_zh, p_zh, asks)
        for k, i in enumerate(good):
            rec = {"lang": given[k]}
            for name, values in fields.items():
                rec[name] = values[k]
            rec["pii"] = pii[k]
            rec["error"] = None
            records[i] = rec
        return records

    @staticmethod
    def _text_features(texts: list[str], model_texts: list[str], langs: list[str | None]):  # noqa: ANN205
        """Fill in missing languages (in place); hashed n-grams and PII spans."""
        todo = [k for k, lang in enumerate(langs) if not lang]
        if todo:
            for k, lang in zip(todo, _detect_langs([texts[k] for k in todo]), strict=True):
                langs[k] = lang
        return hashed_ngrams(model_texts), _find_pii(texts)

    def _lexicon(self, model_texts: list[str], langs: list[str]) -> np.ndarray | None:
        """VADER's scores of the non-Chinese posts, NaN rows (unread) for Chinese ones; None if no head reads them."""
        if not self.head_set.uses_lexicon:
            return None
        lexicon = np.full((len(model_texts), len(LEXICON_FEATURES)), np.nan, dtype=np.float32)
        rows = [k for k, lang in enumerate(langs) if not str(lang).startswith("zh")]
        if rows:
            lexicon[rows] = lexicon_scores([model_texts[k] for k in rows])
        return lexicon

    def _score(self, emb: np.ndarray, ngrams, lexicon: np.ndarray | None, is_zh: np.ndarray,
               p_zh_tuned: np.ndarray | None, zh_asks: np.ndarray | None = None) -> dict[str, list]:
        # The English heads never saw Chinese text: a Chinese post's n-grams only hit buckets that
        # English n-grams hash to, so those heads read Chinese posts from the embedding alone (what
        # their n-gram models say of a text with no known n-gram; VADER's scores count as the training
        # posts' mean, `Head.logits`). The Chinese head reads only them.
        english = tuple(n for n in self.heads if n != "sentiment_zh")
        p = self.head_set.predict_proba(emb, _rows(ngrams, ~is_zh, keep_others=True), names=english,
                                        lexicon=lexicon)
        sent = p["sentiment"]
        if is_zh.any():
            p_zh = self.head_set.predict_proba(emb[is_zh], _rows(ngrams, is_zh), names=("sentiment_zh",))["sentiment_zh"]
            if p_zh_tuned is not None:
                p_zh = (p_zh + p_zh_tuned) / 2
            neutral = zh_neutral(sent[is_zh, 1], p_zh, zh_asks)
            sent[is_zh] = np.stack([(1 - neutral) * (1 - p_zh), neutral, (1 - neutral) * p_zh], axis=1)
            p["emotion"][is_zh] = zh_emotion(p["emotion"][is_zh], p_zh)
        out: dict[str, list] = {"sentiment": _labelled(sent, SENTIMENT), "emotion": _labelled(p["emotion"], EMOTION)}
        probs = {name: p[name] for name in PROBABILITIES}
        probs["toxicity"] = np.maximum(probs["offensive"], probs["hate"])
        for name, values in probs.items():
            out[name] = np.round(values.astype(np.float64), 4).tolist()
        return out


def _rows(ngrams: tuple[np.ndarray, np.ndarray], mask: np.ndarray,
          keep_others: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The (indptr, indices) n-grams of the rows in ``mask``; with ``keep_others`` every row stays,
    the others with no n-grams."""
    indptr, indices = ngrams
    lengths = np.diff(indptr)
    lengths = np.where(mask, lengths, 0) if keep_others else lengths[mask]
    return np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64), indices[np.repeat(mask, np.diff(indptr))]


def zh_neutral(neutral: np.ndarray, p_positive: np.ndarray, asks: np.ndarray | None = None) -> np.ndarray:
    """P(neutral) of Chinese posts: the 3-way English head's, scaled by how unsure the Chinese
    polarity models are (1 at p = 0.5, 0 at p = 0 or 1). The English head judges Chinese text from
    the embedding alone and called 5-20 % of clearly polar reviews and posts neutral; a post is now
    neutral only where both models see no polarity (`benchmarks/understand.py`).

    Questions (``asks``, see `asks_question`) keep the head's P(neutral) unscaled: the polarity models learnt from
    reviews, which do not ask, and called 78 % of plain customer questions negative ("客服几点上班", when does
    support open: 0.72 negative); the tweet-trained head reads questions as English posts get them."""
    scale = 2 * np.minimum(p_positive, 1 - p_positive)
    if asks is not None and len(asks):
        scale = np.where(asks, 1.0, scale)
    return neutral * scale


_ENDS_ASKING = re.compile(r"(?:[？?]|[吗呢])[\s\W]*$")
_ASKING_WORDS = re.compile(r"怎么|怎样|如何|多久|多少|几[点天个次号年月岁时]|什么时候|哪里|哪儿|哪个|是否|能不能|可不可以|"
                           r"有没有(?!搞错)")
SHORT_QUESTION = 25  # characters: in a longer text these words are as often part of a complaint ("怎么也不会再来")


def asks_question(text: str) -> bool:
    """Does a Chinese post ask something: it ends with a question mark, 吗 or 呢, or is short and has a question
    word (怎么, 多久, 几点 ...)? 3 % of ChnSentiCorp's reviews match, 85 % of customer questions."""
    text = text.strip()
    return bool(_ENDS_ASKING.search(text)) or (len(text) <= SHORT_QUESTION and bool(_ASKING_WORDS.search(text)))


def zh_emotion(emotion: np.ndarray, p_positive: np.ndarray) -> np.ndarray:
    """Emotion of Chinese posts: the English head's split within each polarity (anger vs sadness, joy vs
    optimism), with the polarity itself from the Chinese models. The head alone read Chinese polarity at chance:
    its emotion contradicted a third of ChnSentiCorp dev's labels (0.335, now 0.068), and 4-way macro-F1 on 115
    hand-labelled Weibo chat posts went 0.437 -> 0.534 (`benchmarks/understand.py`)."""
    out = emotion.astype(np.float32, copy=True)
    negative, positive = [EMOTION.index(e) for e in ("anger", "sadness")], [EMOTION.index(e) for e in ("joy", "optimism")]
    for cols, share in ((negative, 1 - p_positive), (positive, p_positive)):
        out[:, cols] *= (share / np.maximum(out[:, cols].sum(axis=1), 1e-12))[:, None]
    return out


def _labelled(p: np.ndarray, labels: tuple[str, ...]) -> list[dict]:
    best = p.argmax(axis=1)
    rounded = np.round(p.astype(np.float64), 4).tolist()
    return [{"label": labels[b], "scores": dict(zip(labels, row, strict=True))}
            for b, row in zip(best.tolist(), rounded, strict=True)]


def _error_record(error: str) -> dict:
    return {"lang": None, "sentiment": None, "emotion": None, **dict.fromkeys(PROBABILITIES),
            "toxicity": None, "pii": None, "error": error}
