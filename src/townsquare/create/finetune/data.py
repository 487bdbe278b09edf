"""Training data from a brand's or community's own posts: select, clean, redact, de-duplicate, pair.

``prepare_posts(records, options)`` takes post records (from ``read_posts_file`` or ``read_posts_store``) and:

  1. selects: author, language, engagement, date range (each miss counted under its reason);
  2. cleans with the text pipeline: links removed (a model that learns links invents them), @mentions become
     ``@user``, hashtags and emoji kept, elongations squashed; personal data redacted to ``[email]``,
     ``[phone]``... (the count of redacted posts is reported; they are kept);
  3. drops posts too short or too long once cleaned, in the wrong language (detected, not trusted from the
     record), exact and near-duplicates (MinHash, the first of each group is kept);
  4. builds training pairs in the prompt format of ``townsquare.create.finetune.prompt``: a post becomes
     brief -> post (its brief derived from the post itself: its keywords and hashtags, its language and a
     length step); a reply whose parent is known becomes parent -> reply. With ``plain=True`` each post is
     also a plain text example (the model learns the platform's text itself, which is what perplexity measures).

The report says how many records were read and kept and why each of the others was dropped.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from townsquare.create.finetune.prompt import PLATFORM_LIMITS, build_prompt, length_step
from townsquare.errors import BadInput
from townsquare.text import detect_languages, extract_entities, near_duplicate_groups, normalize, redact
from townsquare.text.segment import key_terms

DROP_REASONS = ("empty", "other_author", "out_of_range", "low_engagement", "too_short", "too_long",
                "wrong_language", "duplicate")


@dataclass(frozen=True)
class TrainingPair:
    """One example: the model learns ``completion`` (then its end token) after ``prompt``.

    ``prompt == ""`` is a plain text example, scored from the start of text like ``Generator.score(texts)``.
    """

    prompt: str
    completion: str
    source: str = ""
    lang: str = ""


@dataclass
class PrepareOptions:
    authors: Sequence[str] | None = None  # author handles or platform ids; None keeps everyone
    langs: Sequence[str] = ("en", "zh")
    min_engagement: float = 0.0  # likes + reposts + replies + quotes (whatever metrics the record has)
    since: datetime | None = None
    until: datetime | None = None
    min_chars: int = 10
    max_chars: int = 280
    dedup_threshold: float = 0.8
    platform: str = "x"
    plain: bool = True  # also train on each post as plain text
    seed: int = 0


@dataclass
class PrepareReport:
    read: int = 0
    kept: int = 0
    redacted: int = 0  # kept posts that had personal data replaced
    dropped: Counter = field(default_factory=Counter)

    def summary(self) -> str:
        reasons = ", ".join(f"{n:,} {r.replace('_', ' ')}" for r, n in self.dropped.most_common() if n)
        return (f"kept {self.kept:,} of {self.read:,} posts ({self.redacted:,} with personal data redacted); "
                f"dropped {sum(self.dropped.values()):,}" + (f": {reasons}" if reasons else ""))

    def as_dict(self) -> dict:
        return {"read": self.read, "kept": self.kept, "redacted": self.redacted,
                "dropped": {r: self.dropped.get(r, 0) for r in DROP_REASONS}}


@dataclass
class PreparedData:
    posts: list[dict]  # the kept records, with the cleaned text under "text"
    pairs: list[TrainingPair]
    report: PrepareReport


# ---- reading --------------------------------------------------------------------------------------------------
def _parse_time(value) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float):
        return datetime.fromtimestamp(float(value), UTC)
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def read_posts_file(path: str | Path) -> list[dict]:
    """Post records from a JSONL or CSV file: ``text`` required; ``id``, ``author``, ``lang``, ``created_at``,
    ``reply_to`` (a parent id in the same file) or ``reply_to_text``, ``metrics`` (a dict) or ``engagement``
    (a number) optional."""
    path = Path(path)
    if not path.is_file():
        raise BadInput("--input", f"no file at {path}", "give a .jsonl or .csv file of posts")
    records: list[dict] = []
    if path.suffix.lower() == ".csv":
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            if not reader.fieldnames or "text" not in reader.fieldnames:
                raise BadInput("--input", f"{path.name} has no 'text' column", "add a header row with a text column")
            records = [dict(row) for row in reader]
    else:
        with path.open(encoding="utf-8") as fh:
            for n, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise BadInput("--input", f"line {n} of {path.name} is not JSON ({exc.msg})",
                                   "write one JSON object per line") from None
                if not isinstance(record, dict):
                    raise BadInput("--input", f"line {n} of {path.name} is not a JSON object", 'use {"text": ...}')
                records.append(record)
    by_id = {str(r["id"]): r for r in records if r.get("id") not in (None, "")}
    for record in records:
        if isinstance(record.get("metrics"), str) and record["metrics"].strip().startswith("{"):
            record["metrics"] = json.loads(record["metrics"])
        parent = by_id.get(str(record.get("reply_to") or ""))
        if parent is not None and not record.get("reply_to_text"):
            record["reply_to_text"] = parent.get("text")
    return records


def read_posts_store(store, *, authors: Sequence[str] | None = None, lang: str | None = None,
                     since: datetime | None = None, until: datetime | None = None,
                     limit: int = 100_000) -> list[dict]:
    """Post records from the store (newest first), with each reply's parent text when the parent is stored."""
    rows: list[dict] = []
    for author in authors or [None]:
        rows += store.query_posts(author=author, lang=lang, since=since, until=until, limit=limit)
    by_id = {(r["platform"], r["platform_id"]): r for r in rows}
    for r in rows:
        parent = by_id.get((r["platform"], r.get("reply_to"))) if r.get("reply_to") else None
        if parent is not None:
            r["reply_to_text"] = parent["text"]
    return rows


# ---- selecting and cleaning -----------------------------------------------------------------------------------
def engagement(record: dict) -> float:
    if record.get("engagement") not in (None, ""):
        try:
            return float(record["engagement"])
        except (TypeError, ValueError):
            return 0.0
    metrics = record.get("metrics") or {}
    if not isinstance(metrics, dict):
        return 0.0
    # Likes, reposts, replies, quotes... but not views or impressions: those are reach, not engagement.
    return float(sum(v for k, v in metrics.items() if isinstance(v, int | float) and not isinstance(v, bool)
                     and "view" not in k and "impression" not in k))


def clean_text(text: str) -> str:
    """A post as the model should learn it: links dropped, mentions anonymised, personal data redacted."""
    return redact(normalize(text or "", urls="", mentions="@user", hashtags="keep"))


def prepare_posts(records: Iterable[dict], options: PrepareOptions | None = None) -> PreparedData:
    """Select, clean, filter and pair ``records`` (see the module docstring); never raises on a bad post."""
    opts = options or PrepareOptions()
    if opts.platform not in PLATFORM_LIMITS:
        raise BadInput("platform", f"unknown platform {opts.platform!r}", f"use one of {', '.join(PLATFORM_LIMITS)}")
    report = PrepareReport()
    authors = {str(a) for a in opts.authors} if opts.authors else None
    since, until = _parse_time(opts.since), _parse_time(opts.until)
    candidates: list[dict] = []
    for record in records:
        report.read += 1
        raw = str(record.get("text") or "")
        if not raw.strip():
            report.dropped["empty"] += 1
            continue
        if authors is not None and not authors & {str(record.get(k)) for k in ("author", "author_id") if record.get(k)}:
            report.dropped["other_author"] += 1
            continue
        when = _parse_time(record.get("created_at"))
        if (since or until) and (when is None or (since and when < since) or (until and when >= until)):
            report.dropped["out_of_range"] += 1
            continue
        if opts.min_engagement and engagement(record) < opts.min_engagement:
            report.dropped["low_engagement"] += 1
            continue
        text = clean_text(raw)
        if not text:
            report.dropped["empty"] += 1
            continue
        if len(text) < opts.min_chars:
            report.dropped["too_short"] += 1
            continue
        if len(text) > opts.max_chars:
            report.dropped["too_long"] += 1
            continue
        redacted = text != normalize(raw, urls="", mentions="@user", hashtags="keep")
        parent = record.get("reply_to_text")
        candidates.append({**record, "text": text, "raw_text": raw, "redacted": redacted,
                           "reply_to_text": clean_text(parent) if parent else None})
    langs = detect_languages([c["text"] for c in candidates])
    in_language = []
    for c, lang in zip(candidates, langs, strict=True):
        if lang not in opts.langs:
            report.dropped["wrong_language"] += 1
        else:
            in_language.append({**c, "lang": lang})
    duplicates = {i for group in near_duplicate_groups([c["text"] for c in in_language], opts.dedup_threshold)
                  for i in group[1:]}
    kept = [c for i, c in enumerate(in_language) if i not in duplicates]
    report.dropped["duplicate"] += len(duplicates)
    report.kept = len(kept)
    report.redacted = sum(c["redacted"] for c in kept)
    pairs = posts_to_pairs(kept, platform=opts.platform, plain=opts.plain, seed=opts.seed)
    return PreparedData(kept, pairs, report)


# ---- briefs and pairs -----------------------------------------------------------------------------------------
_STOPWORDS = frozenset("""
a about above after again against all also am an and any are aren't as at be because been before being below
between both but by can can't cannot could couldn't did didn't do does doesn't doing don't down during each few
for from further get got had hadn't has hasn't have haven't having he he'd he'll he's her here here's hers
herself him himself his how how's i i'd i'll i'm i've if in into is isn't it it's its itself just let's like me
more most mustn't my myself no nor not now of off on once only or other ought our ours ourselves out over own
really same shan't she she'd she'll she's should shouldn't so some such than that that's the their theirs them
themselves then there there's these they they'd they'll they're they've this those through to too under until
up us very was wasn't we we'd we'll we're we've were weren't what what's when when's where where's which while
who who's whom why why's will with won't would wouldn't you you'd you'll you're you've your yours yourself
yourselves user amp rt im dont cant u ur gonna wanna via today day one go going know think see make want
""".split())
_WORD_RE = re.compile(r"[A-Za-z][A-Za-z'\-]{2,}")


class BriefMaker:
    """Derives a brief from a post: its rarest content words (English, by document frequency over the batch)
    or its TF-IDF keywords (Chinese, jieba), plus, half of the time, its hashtags."""

    def __init__(self, texts: Sequence[str] = ()):
        self.df: Counter = Counter()
        for text in texts:
            self.df.update(set(self._words(text)))
        self.n = max(len(texts), 1)

    @staticmethod
    def _words(text: str) -> list[str]:
        body = normalize(text, urls="", mentions="", hashtags="drop")
        return [w.lower().strip("'-") for w in _WORD_RE.findall(body) if w.lower() not in _STOPWORDS]

    def keywords(self, text: str, lang: str, k: int = 3) -> list[str]:
        if lang == "zh":
            body = normalize(text, urls="", mentions="", hashtags="word")
            return [w for w in key_terms(body, k) if w.strip()]
        words = list(dict.fromkeys(self._words(text)))
        ranked = sorted(words, key=lambda w: -math.log(self.n / (1 + self.df.get(w, 0))))[:k]
        return [w for w in words if w in ranked]  # in the post's own order: it reads like a brief

    def brief(self, text: str, lang: str, rng_key: str, extra: Sequence[str] = ()) -> tuple[str, bool]:
        """(brief, whether the post has hashtags)."""
        tags = extract_entities(text)["hashtags"]
        roll = _unit(rng_key)
        keywords = self.keywords(text, lang, k=2 + int(roll * 3))
        parts = [*extra, *keywords]
        if tags and (roll < 0.5 or not parts):
            parts += [t if lang == "zh" and not t.isascii() else f"#{t}" for t in tags[:3]]
        seen: dict[str, None] = {}
        for p in parts:
            seen.setdefault(p.strip(), None)
        brief = ", ".join(p for p in seen if p)
        return brief or text[:30], bool(tags)


def _unit(key: str) -> float:
    """A number in [0, 1) fixed by ``key``: the same post gets the same brief on every run."""
    return int.from_bytes(hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest(), "big") / 2**64


def post_pair(text: str, lang: str, platform: str, maker: BriefMaker, *, source: str = "", tone: str | None = None,
              topic: str | None = None, seed: int = 0) -> TrainingPair:
    brief, has_tags = maker.brief(text, lang, f"{seed}:{text}", extra=[topic] if topic else ())
    prompt = build_prompt("post", brief, lang, platform, max_chars=length_step(len(text), platform),
                          hashtags=has_tags, tone=tone)
    return TrainingPair(prompt, text, source, lang)


def reply_pair(parent: str, text: str, lang: str, platform: str, *, voice: str | None = None,
               source: str = "") -> TrainingPair:
    prompt = build_prompt("reply", "", lang, platform, max_chars=length_step(len(text), platform),
                          reply_to=parent, voice=voice)
    return TrainingPair(prompt, text, source, lang)


def posts_to_pairs(posts: Sequence[dict], *, platform: str = "x", plain: bool = True, seed: int = 0,
                   source: str = "posts") -> list[TrainingPair]:
    """Training pairs from cleaned post records (``text``, ``lang``, optional ``reply_to_text``)."""
    maker = BriefMaker([p["text"] for p in posts if p.get("lang") == "en"])
    pairs: list[TrainingPair] = []
    for p in posts:
        if p.get("reply_to_text"):
            pairs.append(reply_pair(p["reply_to_text"], p["text"], p["lang"], platform, source=source))
        else:
            pairs.append(post_pair(p["text"], p["lang"], platform, maker, source=source, seed=seed))
        if plain:
            pairs.append(TrainingPair("", p["text"], source, p["lang"]))
    return pairs


def split_pairs(pairs: Sequence[TrainingPair], valid_share: float = 0.05, seed: int = 0
                ) -> tuple[list[TrainingPair], list[TrainingPair]]:
    """(train, validation) by a hash of the completion: the same text always lands on the same side."""
    train, valid = [], []
    for pair in pairs:
        (valid if _unit(f"split{seed}:{pair.completion}") < valid_share else train).append(pair)
    return train, valid
