"""Instruction-style training pairs from the public corpora in ``../shared/datasets`` (train parts only).

* TweetEval (English tweets, every task's train split): brief -> tweet pairs, the brief derived from the tweet
  (its rarest words, half of the time its hashtags; the stance target as the topic; the emotion or irony label
  as the tone), plus the raw tweets as plain text. Tweets labelled offensive or hateful are left out: this
  model writes for brands.
* LCCC (Chinese Weibo conversations, ``toy_train.txt`` and the JSON ``train`` dialogues): post -> reply pairs,
  first utterances as Chinese posts (brief -> post), and plain text. The corpus is character-tokenised
  (``为 什 么``); spaces are removed, as Weibo text has none.
* Bitext customer support: customer message -> the brand's answer (its first sentences, to fit a post),
  voice "customer support agent". Bitext has no split: a fixed hash of the message keeps 5% for validation.

Validation comes from the corpora's own ``val``/``valid`` parts (Bitext: the hash). Test splits are never read.
"""

from __future__ import annotations

import csv
import json
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from townsquare.create.finetune.data import BriefMaker, TrainingPair, _unit, post_pair, reply_pair
from townsquare.errors import BadInput
from townsquare.text import drop_stray_selectors, normalize, strip_checkin

TWEETEVAL_TASKS = ("emoji", "emotion", "hate", "irony", "offensive", "sentiment", "stance/abortion",
                   "stance/atheism", "stance/climate", "stance/feminist", "stance/hillary")
STANCE_TOPICS = {"abortion": "abortion", "atheism": "atheism", "climate": "climate change",
                 "feminist": "feminism", "hillary": "Hillary Clinton"}
EMOTIONS = ("anger", "joy", "optimism", "sadness")
SUPPORT_VOICE = "customer support agent"

_PLACEHOLDER_RE = re.compile(r"\{\{\s*([^}]+?)\s*\}\}")
_SENTENCE_RE = re.compile(r"(?<=[.!?])\s+")
_DANGLING_RE = re.compile(r"\s*\b\d+\.$")


def datasets_root(root: str | Path | None = None) -> Path:
    for candidate in ([Path(root)] if root else [Path("../shared/datasets"), Path("/work/shared/datasets")]):
        if (candidate / "tweeteval").is_dir():
            return candidate
    raise BadInput("--datasets", f"no datasets folder at {root or '../shared/datasets'}",
                   "pass the folder that holds tweeteval/, lccc_toy/ and bitext_customer_support/")


@dataclass(frozen=True)
class Tweet:
    text: str
    task: str
    tone: str | None = None
    topic: str | None = None
    flagged: bool = False  # labelled offensive or hateful


def read_tweeteval(root: Path, split: str = "train") -> list[Tweet]:
    """Tweets of every TweetEval task's ``split`` ("train" or "val"; sentiment has no train texts here)."""
    if split not in ("train", "val"):
        raise ValueError("only the train and val splits are available (tests are held back)")
    tweets: list[Tweet] = []
    for task in TWEETEVAL_TASKS:
        text_file = root / "tweeteval" / task / f"{split}_text.txt"
        if not text_file.is_file():
            continue
        texts = text_file.read_text(encoding="utf-8").split("\n")
        labels = (root / "tweeteval" / task / f"{split}_labels.txt").read_text().split("\n")
        for text, label in zip(texts, labels, strict=False):
            text = text.strip()
            if not text:
                continue
            label = label.strip()
            tone = topic = None
            flagged = task in ("hate", "offensive") and label == "1"
            if task == "emotion" and label.isdigit():
                tone = EMOTIONS[int(label)]
            elif task == "irony" and label == "1":
                tone = "ironic"
            elif task.startswith("stance/"):
                topic = STANCE_TOPICS[task.split("/")[1]]
            tweets.append(Tweet(text, task, tone, topic, flagged))
    return tweets


def clean_tweet(text: str) -> str:
    """A tweet as a post to write: links dropped, stray variation selectors (left where emoji were cut) gone, and
    no Instagram check-in at the end (" @ Golden Gate Bridge": half of the emoji task's tweets)."""
    return strip_checkin(" ".join(drop_stray_selectors(normalize(text, urls="", mentions="@user")).split()))


def despace(text: str) -> str:
    """LCCC's character-tokenised Chinese back to written form."""
    return "".join(text.split())


def read_lccc(root: Path, split: str = "train") -> tuple[list[tuple[str, str]], list[str]]:
    """(post -> reply pairs, every utterance) from LCCC's ``split`` ("train" or "valid")."""
    if split not in ("train", "valid"):
        raise ValueError("only the train and valid splits are available (tests are held back)")
    base = root / "lccc_toy"
    pairs: list[tuple[str, str]] = []
    utterances: list[str] = []
    for line in (base / f"toy_{split}.txt").read_text(encoding="utf-8").splitlines():
        parts = [despace(p) for p in line.split("\t")]
        if len(parts) == 2 and all(parts):
            pairs.append((parts[0], parts[1]))
            utterances += parts
    dialogues = json.loads((base / "toy_data_trainvalid.json").read_text(encoding="utf-8")).get(split, [])
    for dialogue in dialogues:
        turns = [despace(t) for t in dialogue if t.strip()]
        pairs += list(zip(turns, turns[1:], strict=False))
        utterances += turns
    return pairs, list(dict.fromkeys(utterances))


def read_bitext(root: Path) -> list[tuple[str, str]]:
    """(customer message, the brand's answer cut to its first sentences, at most 280 characters)."""
    path = root / "bitext_customer_support" / "Bitext_Sample_Customer_Support_Training_Dataset.csv"
    out = []
    with path.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            answer = _PLACEHOLDER_RE.sub(r"[\1]", " ".join(row["response"].split()))
            short = ""
            for sentence in _SENTENCE_RE.split(answer):
                if len(short) + len(sentence) + 1 > 280:
                    break
                short = f"{short} {sentence}".strip()
            short = _DANGLING_RE.sub("", short)  # "... 2. Go to [Billing]. 3." loses its dangling "3."
            if short and row["instruction"].strip():
                out.append((" ".join(row["instruction"].split()), short))
    return out


def _sample(items: list, n: int | None, seed: int) -> list:
    if n is None or n >= len(items):
        return list(items)
    return random.Random(seed).sample(items, n)


@dataclass
class Mix:
    """How many examples of each kind to draw (None: all of them)."""

    en_plain: int | None = 2500
    en_post: int | None = 1800
    zh_post: int | None = 700
    zh_reply: int | None = 900
    zh_plain: int | None = 500
    en_support: int | None = 500


def build_corpus_pairs(root: str | Path | None = None, split: str = "train", mix: Mix | None = None,
                       seed: int = 0) -> list[TrainingPair]:
    """Instruction and plain pairs from the corpora (``split``: "train", or "valid" for their validation parts)."""
    root = datasets_root(root)
    mix = mix or Mix()
    tweets = [t for t in read_tweeteval(root, "train" if split == "train" else "val") if not t.flagged]
    lccc_pairs, lccc_texts = read_lccc(root, "train" if split == "train" else "valid")
    support = [(q, a) for q, a in read_bitext(root) if (_unit(f"bitext:{q}") < 0.05) == (split != "train")]
    if split != "train":  # tweets from another task's train split must not count as held out
        seen = {t.text.lower() for t in read_tweeteval(root, "train")}
        tweets = [t for t in tweets if t.text.lower() not in seen]

    pairs: list[TrainingPair] = []
    for t in _sample(tweets, mix.en_plain, seed + 1):
        if text := strip_checkin(t.text.strip()):
            pairs.append(TrainingPair("", text, f"tweeteval/{t.task}", "en"))
    posts = [t for t in _sample(tweets, mix.en_post, seed + 2) if len(clean_tweet(t.text)) >= 15]
    maker = BriefMaker([clean_tweet(t.text) for t in tweets])
    for t in posts:
        text = clean_tweet(t.text)
        pairs.append(post_pair(text, "en", "x", maker, source=f"tweeteval/{t.task}", tone=t.tone, topic=t.topic,
                               seed=seed))
    zh_posts = [p for p, _ in lccc_pairs if len(p) >= 6]
    for text in _sample(list(dict.fromkeys(zh_posts)), mix.zh_post, seed + 3):
        pairs.append(post_pair(text, "zh", "weibo", maker, source="lccc/post", seed=seed))
    for post, reply in _sample(lccc_pairs, mix.zh_reply, seed + 4):
        pairs.append(reply_pair(post, reply, "zh", "weibo", source="lccc/reply"))
    for text in _sample(lccc_texts, mix.zh_plain, seed + 5):
        pairs.append(TrainingPair("", text, "lccc/plain", "zh"))
    for question, answer in _sample(support, mix.en_support, seed + 6):
        pairs.append(reply_pair(question, answer, "en", "x", voice=SUPPORT_VOICE, source="bitext/support"))
    random.Random(seed).shuffle(pairs)
    return pairs


def heldout_texts(root: str | Path | None = None, lang: str = "en", n: int | None = 300, seed: int = 0) -> list[str]:
    """Raw held-out texts for perplexity: TweetEval val tweets not in any train split (en), LCCC valid
    utterances (zh)."""
    root = datasets_root(root)
    if lang == "en":
        seen = {t.text.lower() for t in read_tweeteval(root, "train")}
        texts = list(dict.fromkeys(t.text for t in read_tweeteval(root, "val") if t.text.lower() not in seen))
    elif lang == "zh":
        texts = read_lccc(root, "valid")[1]
    else:
        raise BadInput("lang", f"no held-out texts for {lang!r}", "use en or zh")
    return _sample(texts, n, seed)


def iter_jsonl_texts(path: Path) -> Iterator[str]:
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            yield json.loads(line)["text"]
