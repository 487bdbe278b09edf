"""Readers for the public training/validation data the understand heads are trained on.

Nothing here is shipped data: every function reads from a datasets folder
(`../shared/datasets` layout, see its README.md and each SOURCE.md) that the caller passes,
except our own list of Chinese social-media expressions (`zh_social_expressions`).
Splits (fixed, so that training and the benchmark agree):

* EN sentiment: train = SemEval-2013..2016 Subtask A pool, de-duplicated, minus every tweet
  that also appears (after normalisation) in TweetEval sentiment val; validation = TweetEval
  sentiment val (the pool contains most val tweets, see semeval2017_task4a_en/SOURCE.md).
* emotion / offensive / hate / irony: TweetEval train -> TweetEval val.
* ZH sentiment: ChnSentiCorp train -> dev. Both Chinese models (the ``sentiment_zh`` head and
  the fine-tuned encoder) also learn from ``POLAR_TWEETS`` negative/positive English tweets of
  the EN sentiment train split (`sentiment_zh_train`): reviews alone taught them review
  sentiment, and on Weibo-style posts they did worse than a model of English tweets (USE is
  multilingual, so social-media polarity learnt in English carries over to Chinese). They also
  learn Weibo's emoticons from senti-weibo's lexicon (`weibo_emoticons`) and 243 expressions of
  Chinese social media that we listed (`zh_social_expressions`: laughter, cheering, wishes, slang).
* crisis informativeness: CrisisLexT26, leave-events-out: the four events in
  ``CRISIS_VAL_EVENTS`` are validation, the other 16 shared events train ("informative" =
  "Related and informative"; the six held-back events of SOURCE.md are not in the folder).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

TWEETEVAL_TASKS = ("emotion", "offensive", "hate", "irony")
CRISIS_VAL_EVENTS = ("2012_Costa_Rica_earthquake", "2013_Colorado_floods",
                     "2013_LA_airport_shootings", "2013_Singapore_haze")
_SENTIMENT = {"negative": 0, "neutral": 1, "positive": 2}
_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")
_URL = re.compile(r"https?://\S+|www\.\S+")
_MENTION = re.compile(r"@\w+")
_NON_WORD = re.compile(r"[^\w]+")


@dataclass
class Split:
    texts: list[str]
    labels: np.ndarray  # int64


def leak_key(text: str) -> str:
    """Normalised form used to find the same tweet in two files (SOURCE.md's recipe)."""
    t = _URL.sub(" ", text.lower())
    t = _MENTION.sub("@user", t)
    return _NON_WORD.sub(" ", t).strip()


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def tweeteval(root: Path, task: str, split: str) -> Split:
    base = Path(root) / "tweeteval" / task
    texts = _lines(base / f"{split}_text.txt")
    labels = np.array([int(x) for x in _lines(base / f"{split}_labels.txt")], dtype=np.int64)
    if len(texts) != len(labels):
        raise ValueError(f"{base}: {len(texts)} texts but {len(labels)} labels")
    return Split([t.strip() for t in texts], labels)


def sentiment_en(root: Path) -> tuple[Split, Split]:
    """(train, validation) for English 3-way sentiment; see the module docstring."""
    val = tweeteval(root, "sentiment", "val")
    held = {leak_key(t) for t in val.texts}
    seen: set[str] = set()
    texts, labels = [], []
    for path in sorted((Path(root) / "semeval2017_task4a_en" / "downloaded").glob("*.tsv")):
        for line in _lines(path):
            parts = line.split("\t")
            if len(parts) < 3 or parts[1] not in _SENTIMENT:
                continue
            text = _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), parts[2]).strip()
            key = leak_key(text)
            if not key or key in held or key in seen:
                continue
            seen.add(key)
            texts.append(text)
            labels.append(_SENTIMENT[parts[1]])
    return Split(texts, np.array(labels, dtype=np.int64)), val


POLAR_TWEETS = 10_000
ZH_SOCIAL = Path(__file__).resolve().parent / "lexicons" / "zh_social.tsv"


def polar_tweets(root: Path, n: int = POLAR_TWEETS, seed: int = 1) -> Split:
    """A fixed sample of ``n`` negative (0) / positive (1) tweets from the EN sentiment train split,
    in the split's order (never a validation tweet)."""
    train, _ = sentiment_en(root)
    polar = np.flatnonzero(train.labels != _SENTIMENT["neutral"])
    pick = np.sort(np.random.default_rng(seed).choice(polar, min(n, len(polar)), replace=False))
    return Split([train.texts[i] for i in pick], (train.labels[pick] == _SENTIMENT["positive"]).astype(np.int64))


def sentiment_zh_train(root: Path) -> Split:
    """ChnSentiCorp train, `polar_tweets`, `weibo_emoticons`, then `zh_social_expressions`: negative 0 / positive 1."""
    parts = chnsenticorp(root, "train"), polar_tweets(root), weibo_emoticons(root), zh_social_expressions()
    return Split([t for p in parts for t in p.texts], np.concatenate([p.labels for p in parts]))


def weibo_emoticons(root: Path) -> Split:
    """The 65 Weibo emoticons of senti-weibo's lexicon (``[哈哈]`` positive 1, ``[泪]`` negative 0),
    each once, as texts of their own.

    Weibo posts carry their mood in these codes, and nothing else here teaches them: the models
    alone called 21 % of them wrong (``[泪]`` tears, ``[心碎]`` heartbreak, ``[鄙视]`` contempt...).
    """
    path = Path(root) / "senti_weibo_coae2014" / "lexicons" / "sentiemnt-emojis.csv"  # upstream's spelling
    seen: dict[str, int] = {}
    with open(path, encoding="utf-8", newline="") as f:
        for row in csv.reader(f):
            if len(row) == 2 and row[1] in ("P", "N"):
                seen.setdefault(row[0].strip(), int(row[1] == "P"))
    return Split(list(seen), np.array(list(seen.values()), dtype=np.int64))


def zh_social_expressions(path: Path = ZH_SOCIAL) -> Split:
    """Our list of Chinese social-media expressions with their polarity (``哈哈`` and ``加油`` positive,
    ``呵呵`` and ``无语`` negative), each once, as texts of their own.

    Reviews never laugh, cheer, wish a happy birthday or swear, so the models trained on them read
    such posts by their words' literal sense: ``笑死我了`` (laughing my head off) as death.
    """
    texts, labels = [], []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            text, label = line.split("\t")
            texts.append(text)
            labels.append(int(label == "positive"))
    return Split(texts, np.array(labels, dtype=np.int64))


def chnsenticorp(root: Path, split: str) -> Split:
    texts, labels = [], []
    with open(Path(root) / "chnsenticorp" / f"{split}.tsv", encoding="utf-8") as f:
        next(f)
        for line in f:
            label, _, text = line.rstrip("\n").partition("\t")
            if label in ("0", "1"):
                texts.append(text.strip())
                labels.append(int(label))
    return Split(texts, np.array(labels, dtype=np.int64))


def crisis(root: Path) -> tuple[Split, Split]:
    """(train, validation) for informativeness, split by event (leave-events-out)."""
    train, val = ([], []), ([], [])
    for path in sorted((Path(root) / "crisislext26").glob("*/*-tweets_labeled.csv")):
        target = val if path.parent.name in CRISIS_VAL_EVENTS else train
        with open(path, encoding="utf-8", newline="") as f:
            rows = csv.reader(f)
            header = [h.strip() for h in next(rows)]
            ti, ii = header.index("Tweet Text"), header.index("Informativeness")
            for row in rows:
                if len(row) > max(ti, ii):
                    target[0].append(row[ti].strip())
                    target[1].append(int(row[ii].strip() == "Related and informative"))
    return (Split(train[0], np.array(train[1], dtype=np.int64)),
            Split(val[0], np.array(val[1], dtype=np.int64)))


def lccc_sentiment(root: Path, labels: Path, source: str = "toy_train.txt") -> tuple[list[str], list[str]]:
    """(texts, labels) of Weibo-style posts that we labelled, standing in for the held-back Weibo
    test set (no labelled Weibo posts exist here).

    ``labels`` (``line, turn, label``) points into LCCC's ``source`` file (Weibo conversations; the
    text stays in the shared folder). benchmarks/data/lccc_sentiment_labels.tsv: 171 clearly
    positive or negative posts of toy_train.txt and 44 neutral ones (questions, plain facts), picked
    and labelled by hand from a random sample; lccc_valid_sentiment_labels.tsv: 115 polar posts of
    toy_valid.txt, labelled the same way later. Small (about ±6 and ±5 points at 95 %), and casual
    chat rather than the opinion posts of the Weibo test.
    """
    lines = (Path(root) / "lccc_toy" / source).read_text(encoding="utf-8").splitlines()
    texts, gold = [], []
    rows = Path(labels).read_text(encoding="utf-8").splitlines()
    for row in rows[1:]:
        line, turn, label = row.split("\t")
        chars = lines[int(line) - 1].split("\t")[int(turn)]
        # LCCC separates every character by a space: join them back, keeping spaces between latin words
        texts.append(re.sub(r"(?<=[^\x00-\x7f]) | (?=[^\x00-\x7f])", "", chars).strip())
        gold.append(label)
    return texts, gold
