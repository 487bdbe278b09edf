"""The checks every candidate passes before anyone sees it as usable: platform limit, language, toxicity,
PII, tone, hashtags, the brief's figures, days, times of day, negations (and the days they sit on), mentions and
links, emptiness and duplicates. Each failure is a reason a person can read.

The understand models do the judging, in one batched pass over all candidates.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from townsquare.text.normalize import HAN

TOXICITY_MAX = 0.5
POSITIVE_TONES = {"joy", "optimism", "positive", "friendly", "excited", "enthusiastic", "warm", "celebratory"}
CALM_TONES = {"neutral", "informative", "calm", "professional", "apologetic", "empathetic", "reassuring"}
NEGATIVE_MAX = 0.6  # a positive or calm tone rejects candidates the sentiment head finds this negative
REGRET_TONES = {"apologetic", "empathetic"}  # an apology reads negative to a sentiment model: only reject hostility
NEGATIVE_MAX_REGRET = 0.95  # "So sorry your order arrived broken! ..." reads 0.90 negative
# ... but it must say the words: replies asked to be apologetic passed as "我爱你们哈哈" and "She is going to have to pay
# me in the end" (63 of 70 sampled replies to complaints had no apology in them, and every one had passed).
REGRET_WORDS = {
    "apologetic": re.compile(r"\b(?:sorry|apolog\w*|regret\w*)\b|抱歉|对不起|不好意思|歉意|遗憾", re.I),
    "empathetic": re.compile(r"\b(?:sorry|apolog\w*|understand\w*|hear (?:that|this)|frustrat\w*)\b"
                             r"|抱歉|对不起|不好意思|理解|辛苦|心情", re.I),
}
HASHTAG = re.compile(r"(?<![\w#])#\w+")
_SENTENCE_END = re.compile(r"[.!?。！？…]")
# The figures a brand post must not change or make up: numbers (20%, 3.2, 9am, 12-25), Chinese counted words
# (八五折, 九点) and days of the week. Links likewise: the model learnt from tweets and writes plausible addresses of its own.
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_ZH_FIGURE = re.compile(r"([〇零一二两三四五六七八九十百千万]+)[点折月日号元块岁年天个]")
_ZH_DIGITS = {c: i for i, c in enumerate("〇一二三四五六七八九")} | {"零": 0, "两": 2}
_ZH_UNITS = {"十": 10, "百": 100, "千": 1000, "万": 10_000}
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_EN_DAY = re.compile(r"\b(?i:(mon|tues|wednes|thurs|fri|satur|sun)days?)\b|\b(Mon|Tues?|Wed|Thu(?:rs?)?|Fri|Sat|Sun)\b")
_ZH_DAY = re.compile(r"(?:周|星期|礼拜)([一二三四五六日天])")
# When a candidate may not move an event: the half of the day ("9am" written as "9pm", 上午 as 下午: figures() reads
# both as 9) and the relative day (今晚 written as 明天, "Saturday" as "today"). Greetings ("good morning", 早上好)
# name no time. A candidate may leave these out: "9" alone reads as the brief's 9am.
_WHEN = {
    "the morning (am)": re.compile(r"\b\d{1,2}(?::\d{2})?\s*a\.?m\b|(?<!good )\bmornings?\b|(?:上午|早上|早晨|清晨|凌晨|今早|明早)(?!好)",
                                   re.I),
    "the afternoon or evening (pm)": re.compile(
        r"\b\d{1,2}(?::\d{2})?\s*p\.?m\b|(?<!good )\b(?:afternoon|evening|tonight|night)s?\b|"
        r"(?:下午|晚上|傍晚|今晚|明晚|昨晚|夜里|晚间)(?!好)", re.I),
    "today": re.compile(r"\b(?:today|tonight|this (?:morning|afternoon|evening))\b|今天|今日|今晚|今早|今夜", re.I),
    "tomorrow": re.compile(r"\btomorrow\b|明天|明日|明晚|明早", re.I),
    "yesterday": re.compile(r"\byesterday\b|昨天|昨日|昨晚", re.I),
}
# A negation a candidate adds to a word of the brief ("系统维护" -> "系统不维护", "booking required" -> "not booking") or
# drops ("don't update to 3.2" -> "update to 3.2"). Only words of the brief count: "Don't miss it!" negates nothing
# the brief said. English words of 4+ letters; Chinese words of 2+ characters (jieba).
_EN_NEGATORS = re.compile(r"^(?:not|no|never|cannot|without|nothing|\w+n't)$")
_EN_SKIP = {"be", "to", "a", "an", "the", "been", "being", "any", "yet", "have", "get", "until"}
_EN_WORD = re.compile(r"[a-z']+")
_CJK = re.compile(f"[{HAN}]")
_ZH_NEGATED = "(?:不要|不能|不会|不用|不再|没有|无法|无需|不|没|别|未|勿)"
# A negation moved from one day or time to another ("周日不营业，周一恢复" -> "周一不营业，周日恢复"): every word is still
# the brief's, so the checks above pass it. Which days and times sit in a clause that negates; not in "don't miss"
# or 不错 (fine), which negate nothing.
_CLAUSE = re.compile(r"[,.;:!?，。；：！？\n]|\bbut\b|但是?|而且?|可是")
_ZH_NOT_NEGATING = re.compile(r"不错|不少|不过|不断|不仅|不论|不管|不久|不同|不妨|不如|不见不散|没错|别忘|未来")
_EN_NOT_NEGATING = {"miss", "forget", "hesitate", "wait", "worry"}
_EN_COMMON = {"this", "that", "with", "from", "your", "ours", "will", "have", "just", "more", "than", "what", "when",
              "they", "them", "their", "there", "here", "been", "were", "also", "only", "into", "over", "about"}
_MENTION = re.compile(r"(?<![\w@.])@\w+")  # a handle the model made up may be a real person's ("@ourcafes")
_LINK = re.compile(r"(?:https?://|www\.)\S+|\b[\w-]+\.(?:com|net|org|cn|io|co|me|app)\b[^\s，。]*", re.I)
_TRAILING_TAGS = re.compile(r"(?:\s*#\w+)+(?:\s*@?\s*(?:\.{2,}|…))?\s*$")  # "#love @...": a cut-off sign-off
HASHTAGS_MAX = {"x": 2, "mastodon": 3, "weibo": 2}  # more reads as spam to people and to platforms' rankers


@dataclass
class Checked:
    text: str
    passed: bool = True
    reasons: list[str] = field(default_factory=list)
    analysis: dict = field(default_factory=dict)
    embedding: np.ndarray | None = None

    def reject(self, reason: str) -> None:
        self.passed = False
        self.reasons.append(reason)


_CLAUSE_END = re.compile(r"[,;:，；：、]\s|[，；：、]|\s")


def fit_to_limit(text: str, limit: int) -> str | None:
    """The text if it fits; else cut at the last sentence end inside the limit, or failing that at the last clause
    or word boundary with an ellipsis; None when not even that keeps half the limit."""
    if len(text) <= limit:
        return text
    head = text[:limit]
    ends = [m.end() for m in _SENTENCE_END.finditer(head)]
    if ends and ends[-1] >= limit * 0.5:
        return head[:ends[-1]].rstrip()
    head = text[:limit - 1]  # room for the ellipsis
    cuts = [m.start() for m in _CLAUSE_END.finditer(head) if m.start() >= limit * 0.5]
    if cuts:
        return head[:cuts[-1]].rstrip(" ,;:，；：、") + "…"
    return None


def _zh_number(run: str) -> float:
    """九 -> 9, 十二 -> 12, 两百 -> 200, 十万 -> 100000; a run of bare digits reads digit by digit, as discounts
    do (八五折 -> 85)."""
    if not any(c in _ZH_UNITS for c in run):
        return float("".join(str(_ZH_DIGITS[c]) for c in run))
    total, section, digit = 0, 0, 0  # 万 multiplies everything before it; 十/百/千 only the digit before them
    for c in run:
        if c == "万":
            total += (section + digit) * _ZH_UNITS[c]
            section = digit = 0
        elif c in _ZH_UNITS:
            section += (digit or 1) * _ZH_UNITS[c]
            digit = 0
        else:
            digit = _ZH_DIGITS[c]
    return float(total + section + digit)


def figures(text: str) -> set[str]:
    """The numbers of a text as values ("9:00", "9am", "九点" all hold 9, "1,000" is 1000, "八五折" and "85折" 85;
    zeros say nothing) and its days of the week ("Fri" and "Fridays" are Friday, 星期五 is 周五)."""
    text = _THOUSANDS.sub("", text)  # "¥1,000" and "¥1000" are one figure
    out = {f"{float(m.group()):g}" for m in _NUMBER.finditer(text) if float(m.group())}
    out |= {f"{v:g}" for m in _ZH_FIGURE.finditer(text) if (v := _zh_number(m.group(1)))}
    out |= {next(d for d in _DAYS if d.lower()[:3] == (m.group(1) or m.group(2)).lower()[:3])
            for m in _EN_DAY.finditer(text)}
    return out | {"周" + ("日" if m.group(1) == "天" else m.group(1)) for m in _ZH_DAY.finditer(text)}


def when(text: str) -> set[str]:
    """The halves of the day and the relative days a text names: "9am", "morning" and 上午 are the morning; "3 p.m."
    and 晚上 the afternoon or evening; "tonight" and 今晚 are today and the evening; 明天 is tomorrow."""
    return {name for name, pattern in _WHEN.items() if pattern.search(text)}


def brief_words(text: str) -> set[str]:
    """The words of a brief a negation can flip: English words of 4+ letters (lowercased, common ones left out) and
    Chinese words of 2+ characters, the shorter ones inside long words too (系统维护: 维护, so 系统不维护 is caught)."""
    from townsquare.text.segment import search_words

    words = {w for w in re.findall(r"[a-z]{4,}", text.lower()) if w not in _EN_COMMON}
    if _CJK.search(text):
        words |= {w for w in search_words(text) if len(w) >= 2 and all(_CJK.match(ch) for ch in w)}
    return words


def _en_tokens(text: str) -> list[str]:
    return _EN_WORD.findall(text.lower().replace("’", "'"))


def negated(text: str, words: set[str]) -> set[str]:
    """Which of ``words`` the text negates: "not", "never", "-n't" ... up to three words before in English ("don't
    update", "will not be open"), 不/没/无法/别 ... right before in Chinese (不维护, 无法下单)."""
    out = {w for w in words if _CJK.match(w) and re.search(_ZH_NEGATED + re.escape(w), text)}
    tokens = _en_tokens(text)
    for i, token in enumerate(tokens):
        if _EN_NEGATORS.match(token):
            ahead = [t for t in tokens[i + 1:i + 4] if t not in _EN_SKIP][:1]
            out |= {t for t in ahead if t in words}
    return out


def negated_moments(text: str) -> set[str]:
    """The days of the week and halves or relative days (`when`) named in a clause of the text that negates: "周一不营业"
    and "we will not open on Monday" give 周一 and Monday; "Don't miss Sunday's sale" gives nothing."""
    def moments(part: str) -> set[str]:
        return {f for f in figures(part) if not f[0].isdigit()} | when(part)

    out: set[str] = set()
    for clause in _CLAUSE.split(text):
        tokens = _en_tokens(clause)
        if any(_EN_NEGATORS.match(t) and not _EN_NOT_NEGATING & set(tokens[i + 1:i + 2])
               for i, t in enumerate(tokens)):
            out |= moments(clause)
        zh = _ZH_NOT_NEGATING.sub("", clause)
        if m := re.search(_ZH_NEGATED + f"[{HAN}]", zh):  # a Chinese time comes before what it modifies
            out |= moments(zh[:m.start()])  # "周日不营业周一恢复" (no comma) negates 周日 only
    return out


def trim_hashtags(text: str, brief: str = "", most: int = 2) -> str:
    """The run of hashtags a post ends with, cut to the ``most`` first ones that are not a repeat of an earlier
    one's stem (#delicious #deliciousness #deliciousfood) and not a number the brief lacks (#BeachCleanup2016).
    Hashtags inside a sentence stay: taking them out would break it."""
    run = _TRAILING_TAGS.search(text)
    if run is None:
        return text
    known, kept, stems = figures(brief), [], set()
    for tag in HASHTAG.findall(run.group()):
        stem = tag[1:].lower()[:5]
        if stem in stems or not figures(tag) <= known:
            continue
        stems.add(stem)
        kept.append(tag)
    body = text[:run.start()].rstrip()
    return f"{body} {' '.join(kept[:most])}".strip() if kept[:most] else body


def check(texts: list[str], *, lang: str, limit: int, tone: str | None, hashtags: bool | None,
          platform: str, analyzer, brief: str | None = None, context: str = "") -> list[Checked]:
    """Gate every candidate. Given a ``brief`` (and ``context``, the post replied to), they hold the figures, days,
    times of day and links a candidate may use: it must keep the brief's figures and invent none, and it may neither
    negate a word of the brief nor drop the brief's own negations (the brief alone counts for those); where the brief
    negates a day or time ("周日不营业"), a candidate may negate no other one ("周一不营业")."""
    out = [Checked(t) for t in texts]
    required = figures(brief or "")
    allowed = required | figures(context)
    given = f"{brief or ''} {context}"
    moments = when(given)
    # negations come from the brief alone: a reply may well contradict the post it answers ("it didn't arrive")
    words = brief_words(brief) if brief else set()
    negated_brief = negated(brief or "", words)
    not_when = negated_moments(brief or "")  # only a brief that negates a day or time binds where negations go
    links = {m.group().lower().rstrip(".,!?") for m in _LINK.finditer(given)}
    source = "the brief or the post replied to" if context else "the brief"
    for c in out:
        fitted = fit_to_limit(c.text, limit)
        if fitted is None:
            c.reject(f"length: {len(c.text)} characters, over {platform}'s {limit}-character limit")
        else:
            c.text = fitted
        if not c.text.strip():
            c.reject("empty: the model wrote nothing usable")
        elif c.text.lstrip().startswith("###") or "\n###" in c.text:
            c.reject("format: the model wrote prompt fields, not a post")
    final = [c.text or " " for c in out]
    embeddings = analyzer.embed(final)  # once: the ranking reads the same vectors
    results = analyzer.analyze_embedded(final, embeddings)
    seen: dict[str, int] = {}
    for i, (c, r) in enumerate(zip(out, results, strict=True)):
        c.embedding = embeddings[i]
        c.analysis = {k: r.get(k) for k in ("lang", "sentiment", "toxicity", "offensive", "hate", "pii")}
        if r.get("error"):
            if c.text.strip():  # an empty candidate already says so
                c.reject(f"analysis: {r['error']}")
            continue
        if r["lang"] != lang and c.text.strip():
            c.reject(f"language: written in {r['lang']}, asked for {lang}")
        if r["toxicity"] >= TOXICITY_MAX:
            c.reject(f"toxicity: {r['toxicity']:.0%} likely offensive or hateful")
        # the brand's own contact in the brief may be published; a customer's, quoted from the post replied to, not
        if pii := [p for p in r["pii"] if not brief or p["text"] not in brief]:
            kinds = ", ".join(sorted({p["kind"] for p in pii}))
            c.reject(f"pii: contains personal data ({kinds})")
        negative = r["sentiment"]["scores"]["negative"]
        wanted = (tone or "").lower()
        bar = NEGATIVE_MAX_REGRET if wanted in REGRET_TONES else NEGATIVE_MAX
        if (wanted in POSITIVE_TONES or wanted in CALM_TONES) and negative >= bar:
            c.reject(f"tone: reads negative ({negative:.0%}), asked for {tone}")
        if wanted in REGRET_WORDS and not REGRET_WORDS[wanted].search(c.text):
            c.reject(f"tone: says no {'sorry' if wanted == 'apologetic' else 'word of understanding'}, asked for "
                     f"{tone}")
        if wanted in POSITIVE_TONES and r["sentiment"]["label"] != "positive" and negative >= 0.4:
            c.reject(f"tone: not {tone} (sentiment {r['sentiment']['label']})")
        tags = HASHTAG.findall(c.text)
        if hashtags is False and tags:
            c.reject(f"hashtags: has {', '.join(tags[:3])}, asked for none")
        if brief is not None:  # no brief to hold to: the figures are the caller's business
            said = figures(c.text)
            if missing := sorted(required - said):
                c.reject(f"facts: leaves out {', '.join(missing)} from the brief")
            if made_up := sorted(said - allowed):
                c.reject(f"facts: {', '.join(made_up)} is not in {source}")
            if moved := sorted(when(c.text) - moments):
                c.reject(f"facts: {' and '.join(moved)} is not in {source}")
            present = {w for w in words if w in c.text.lower()}
            said_not = negated(c.text, present)
            if added := sorted(said_not - negated_brief):
                c.reject(f"meaning: says not {', '.join(added)}, which the brief does not")
            if dropped := sorted((negated_brief & present) - said_not):
                c.reject(f"meaning: the brief says not {', '.join(dropped)}, the post does not")
            if not_when and (shifted := sorted(negated_moments(c.text) - not_when)):
                c.reject(f"meaning: says not on {' and '.join(shifted)}, which the brief does not")
            if handles := [m for m in _MENTION.findall(c.text) if m.lower() not in given.lower()]:
                c.reject(f"mention: {handles[0]} is not in {source}")
            if new := [m.group() for m in _LINK.finditer(c.text) if m.group().lower().rstrip(".,!?") not in links]:
                c.reject(f"link: {new[0]} is not in {source}")
        key = re.sub(r"\W+", "", c.text.lower())
        if key and key in seen:
            c.reject(f"duplicate: same words as another candidate ({texts[seen[key]][:40]!r})")
        else:
            seen.setdefault(key, i)
    return out
