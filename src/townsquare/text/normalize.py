"""Normalise social-media text for models, and pull out its URLs, @mentions and #hashtags.

`normalize` does, in order:
  1. HTML entities unescaped (`&amp;` -> `&`), control and invisible formatting characters and lone
     surrogates removed (zero-width joiner and variation selectors stay: emoji sequences need them);
  2. width folding: full-width letters, digits and symbols become ASCII (`Ｈｅｌｌｏ１２３` -> `Hello123`,
     `＃话题＃` -> `#话题#`), then NFKC for the rest (`𝐇𝐞𝐥𝐥𝐨` -> `Hello`, half-width katakana -> full-width).
     Kept as they are: the full-width punctuation Chinese writing uses (`！，：；？（）～`), emoji and
     emoji-like symbols NFKC would flatten (`🈵` would become `満`, `™` `TM`), and the Chinese script itself:
     traditional and simplified characters are never converted into each other;
  3. URLs -> `<url>`, @mentions -> `@user` (TweetEval's convention), hashtags kept verbatim by default:
     the `#` tells a model it is a tag and tweet-trained models saw it that way (`hashtags="word"` keeps only
     the words: `#AcmePhone` -> `AcmePhone`, Weibo `#话题#` -> `话题`; `"drop"` removes them);
  4. elongations squashed to three: `soooooo` -> `sooo`, `!!!!!!` -> `!!!`, `哈哈哈哈哈哈` -> `哈哈哈`,
     `hahahahaha` -> `hahaha`; digits are never squashed (`1000000`, `2333333` stay);
  5. whitespace collapsed to single spaces.

Entities (also what `extract_entities` returns):
  - URLs: `http(s)://...` and `www....` (bare domains such as `t.cn/abc` are left as text: matching them
    everywhere would cost more than it finds); they end at whitespace, at non-ASCII (Weibo text often glues
    Chinese to a link) and lose trailing punctuation.
  - @mentions: Twitter/Mastodon handles (`@user`, `@alice@mastodon.social`; not the `bob` of `bob@x.com`) and
    Weibo nicknames (`@心态爆炸的大龄姨母`, up to whitespace or punctuation). A handle that starts with an ASCII
    character stays ASCII, so `@user这个太棒了` is the handle `user` followed by Chinese text.
  - hashtags: Weibo topics `#话题#` (no whitespace or ASCII punctuation inside; `#明日方舟##音律联觉#` is two),
    and `#tag` (an ASCII/Latin tag ends where CJK or punctuation begins: `#AcmePhone真好用` -> `AcmePhone`;
    a tag needs a letter, so `#1` is not one).
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

# Script ranges shared by the other text modules.
HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
KANA = "\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9f"
HANGUL = "\uac00-\ud7af\u1100-\u11ff\u3130-\u318f"
LATIN_LETTERS = "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f"

URL_PATTERN = r"(?:https?://|www\.)[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+"
EMAIL_PATTERN = r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}(?![A-Za-z0-9\-])"
# Each alternative starts with a literal (`#`, `@`) and checks what precedes it afterwards: 2x faster scanning.
_MENTION = (
    r"@(?<![A-Za-z0-9_.%+\-@]@)[A-Za-z0-9_]{1,30}(?:@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+)?"  # Twitter, Mastodon
    r"|@(?=[^\x00-\x7f])[\w\-]{1,30}"  # Weibo nickname starting with a non-ASCII character
)
_TOPIC = r"#(?P<topic>[^#\s,.!?;:'\"<>()\[\]{}]{1,50})#"  # Weibo #话题#
_TAG = rf"#(?<![A-Za-z0-9_&]#)(?P<tag>(?=[0-9_]*[^\W\d_])(?:[{LATIN_LETTERS}0-9_]+|(?=[^\x00-\x7f])\w+))"

# No e-mail alternative: the mention's look-behind already skips `bob@x.com`; e-mails are townsquare.text.pii's.
ENTITY_RE = re.compile(rf"(?P<url>{URL_PATTERN})|{_TOPIC}|{_TAG}|(?P<mention>{_MENTION})")

# Controls, invisible formatting, and lone surrogates (broken emoji from cut JSON: not encodable as UTF-8).
_CONTROL_RE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u00ad\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff"
    "\ud800-\udfff]"
)
# Chinese punctuation written full-width on purpose; folding it would make Chinese look like mixed text.
_KEEP_FULLWIDTH = "！，：；？（）～"
_WIDTH_TABLE = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F) if chr(cp) not in _KEEP_FULLWIDTH}
_WIDTH_TABLE[0x3000] = 0x20  # ideographic space
_FULLWIDTH_RE = re.compile("[" + "".join(map(chr, _WIDTH_TABLE)) + "]")  # none of them is special in a class
# Runs NFKC may touch: everything except emoji-like symbols it would flatten and the kept punctuation.
_NFKC_RUN_RE = re.compile(f"[^\U0001f100-\U0001f2ff\u2122\u2139\u24c2\u3297\u3299\u203c\u2049{_KEEP_FULLWIDTH}]+")
_URL_TRAILING = ".,;:!?'\"*"

HASHTAG_MODES = ("keep", "word", "drop")


def clean_unicode(text: str) -> str:
    """Steps 1-2 of `normalize`: entities unescaped, invisible characters gone, widths folded, NFKC."""
    if "&" in text:
        text = html.unescape(text)
    text = _CONTROL_RE.sub("", text)
    if text.isascii():
        return text
    if _FULLWIDTH_RE.search(text):
        text = text.translate(_WIDTH_TABLE)
    if not unicodedata.is_normalized("NFKC", text):
        text = _NFKC_RUN_RE.sub(lambda m: unicodedata.normalize("NFKC", m.group()), text)
    return text


def _split_url(url: str) -> tuple[str, str]:
    """A URL's own text and the punctuation that only follows it (`(see http://x.com).` -> `)` `.`)."""
    end = len(url)
    while end and (url[end - 1] in _URL_TRAILING or (url[end - 1] == ")" and url.count("(", 0, end) < url.count(")", 0, end))):
        end -= 1
    return url[:end], url[end:]


@lru_cache(maxsize=8)
def _repeat_patterns(max_repeat: int) -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    """A cheap pre-check (most posts have no run at all), then runs of one character and of a pair."""
    return (
        re.compile(rf"(.)\1{{{max_repeat}}}|(..)\2{{{max_repeat}}}", re.DOTALL),
        re.compile(rf"([^\d\s])\1{{{max_repeat},}}"),
        re.compile(rf"([^\d\s]{{2}})\1{{{max_repeat},}}"),
    )


def squash_elongations(text: str, max_repeat: int = 3) -> str:
    """Cut runs of one repeated character (or pair) down to `max_repeat`; digits are left alone."""
    if max_repeat < 1:
        raise ValueError("max_repeat must be at least 1")
    any_run, char_run, pair_run = _repeat_patterns(max_repeat)
    if not any_run.search(text):
        return text
    text = char_run.sub(lambda m: m.group(1) * max_repeat, text)
    return pair_run.sub(lambda m: m.group(1) * max_repeat, text)


def normalize(
    text: str,
    *,
    urls: str | None = "<url>",
    mentions: str | None = "@user",
    hashtags: str = "keep",
    max_repeat: int | None = 3,
) -> str:
    """Normalise one post for a model (see the module docstring for every step).

    `urls` / `mentions`: the placeholder to put in their place ("" removes them, None keeps them as written).
    `hashtags`: "keep" (`#AcmePhone`, `#话题#` unchanged), "word" (`AcmePhone`, `话题`) or "drop".
    `max_repeat`: longest run of one repeated character kept (None keeps elongations).
    """
    if hashtags not in HASHTAG_MODES:
        raise ValueError(f"hashtags must be one of {HASHTAG_MODES}, not {hashtags!r}")
    text = clean_unicode(text)

    def replace(m: re.Match[str]) -> str:
        kind = m.lastgroup
        if kind == "url":
            url, tail = _split_url(m.group())
            if urls is None:
                return url + tail
            return f" {urls}{tail} " if urls else f"{tail} "
        if kind == "mention":
            return m.group() if mentions is None else mentions
        if hashtags == "keep":  # kind is "tag" or "topic"
            return m.group()
        return f" {m.group(kind)} " if hashtags == "word" else " "

    if "/" in text or "@" in text or "#" in text or "www." in text:  # the cheap test saves most of the time
        text = ENTITY_RE.sub(replace, text)
    if max_repeat is not None:
        text = squash_elongations(text, max_repeat)
    return " ".join(text.split())


def normalize_many(texts: Iterable[str], **options) -> list[str]:
    """`normalize` over a batch; same keyword options."""
    return [normalize(text, **options) for text in texts]


# Instagram's cross-posts to Twitter end with where they were posted: "Merry and Bright @ Disneyland". The space
# after the @ tells a check-in from a mention; the place starts with a capital or a digit, has no sentence end and
# may be cut off ("@ Seattle-Tacoma International…"). Half of TweetEval's emoji tweets end so, and a model trained on
# them learns to sign off at a competitor's café. A dangling "at" before it goes too ("tonight at @ The Forum").
_CHECKIN_RE = re.compile(r"(?:(?:^|\s+)at)?(?:^|\s+)@(?:\s+(?P<place>(?=[A-Z0-9])(?:\b[A-Z][a-z]?\.|[^@#\n.!?…]){1,80})"
                         r"(?:…|\.\.\.)?)?\s*$")  # a place may hold initials: "@ Robert H. Smith Center", "@ St. Louis"


# An emoji's presentation selector or joiner left behind when the emoji was cut out of a tweet ("Friday. \ufe0f #fall"):
# a selector is kept after a symbol, a digit, # or * (a keycap: 1\ufe0f\u20e3); a joiner only goes where nothing
# precedes it (it also joins letters in some scripts).
_STRAY_SELECTOR_RE = re.compile(
    r"(?:^|(?<=[^\d#*\u00a9\u00ae\u2000-\u2bff\u3030\u303d\u3297\u3299\U0001f000-\U0001faff]))[\ufe0e\ufe0f]+"
    r"|(?:^|(?<=\s))[\ufe0f\u200d]+")


def drop_stray_selectors(text: str) -> str:
    """``text`` without emoji selectors and joiners that belong to no emoji."""
    return _STRAY_SELECTOR_RE.sub("", text)


def strip_checkin(text: str, keep: str = "") -> str:
    """``text`` without a trailing check-in (" @ Golden Gate Bridge") or a dangling " @", unless the place is
    named in ``keep`` (a brief that asks for it)."""
    match = _CHECKIN_RE.search(text)
    if not match:
        return text
    place = (match.group("place") or "").strip()
    if place and place.lower() in keep.lower():
        return text
    return text[:match.start()].rstrip()


def extract_entities(text: str) -> dict[str, list[str]]:
    """URLs, mention handles (without `@`) and hashtags (without `#` marks), in order of appearance."""
    found: dict[str, list[str]] = {"urls": [], "mentions": [], "hashtags": []}
    for m in ENTITY_RE.finditer(clean_unicode(text)):
        kind = m.lastgroup
        if kind == "url":
            found["urls"].append(_split_url(m.group())[0])
        elif kind == "mention":
            found["mentions"].append(m.group()[1:])
        elif kind in ("tag", "topic"):
            found["hashtags"].append(m.group(kind))
    return found


def extract_entities_many(texts: Iterable[str]) -> list[dict[str, list[str]]]:
    """`extract_entities` over a batch."""
    return [extract_entities(text) for text in texts]
