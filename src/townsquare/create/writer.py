"""Writing posts and replies: prompt -> N sampled candidates -> gates -> ranking.

    from townsquare.create.writer import WriteRequest, write
    result = write(WriteRequest(brief="our oat latte is back on Monday", lang="en", platform="x", n=5))
    for c in result.candidates: print(c.passed, c.text, c.reasons)

The generator is the configured backend (TOWNSQUARE_LLM) with the shipped instruction-tuned LoRA adapter (GGUF
for llama.cpp, peft for transformers). A brief is data, never instructions: it sits in one defused prompt field,
and every candidate is judged by the understand models whatever the brief asked for.
"""

from __future__ import annotations

import html
import math
import re
import time
from dataclasses import asdict, dataclass, field
from functools import lru_cache

import numpy as np

from townsquare.create.finetune.prompt import LANGUAGES, PLATFORM_LIMITS, STOP, build_prompt
from townsquare.create.gates import HASHTAG, HASHTAGS_MAX, check, trim_hashtags
from townsquare.errors import BadInput
from townsquare.text import drop_stray_selectors, strip_checkin

MAX_CANDIDATES = 20
OVERSAMPLE = 1.6  # sample this many times n and keep the best n: decoding them together costs little more
ROUNDS = 2  # sample once more when fewer than n passed the gates (most often check-in-only or empty tweets)
_INJECTION = re.compile(r"ignore (all |any |your |the |previous |prior )*(rules|instructions|guidelines)|"
                        r"disregard (all |your |the |previous )*(rules|instructions)|system prompt|"
                        r"忽略.{0,6}(规则|指令|要求)|无视.{0,6}(规则|指令)", re.I)


@dataclass
class WriteRequest:
    brief: str = ""
    lang: str = "en"
    platform: str = "x"
    n: int = 5
    tone: str | None = None
    hashtags: bool | None = True
    max_chars: int | None = None
    reply_to: str | None = None  # the post to answer (task = reply)
    voice: str | None = None  # who speaks, e.g. "Acme support team, warm and brief"
    temperature: float = 0.8
    top_p: float = 0.95
    beams: int = 1
    seed: int | None = None


@dataclass
class Candidate:
    text: str
    passed: bool
    reasons: list[str]
    score: float  # predicted engagement (or fluency when the store cannot train it); higher is better
    rank: int = 0
    analysis: dict = field(default_factory=dict)


@dataclass
class WriteResult:
    candidates: list[Candidate]
    model: str
    adapter: str | None
    ranking: str  # "engagement" | "fluency"
    warnings: list[str]
    seconds: float

    def to_dict(self) -> dict:
        return asdict(self)


_PLACEHOLDER = re.compile(r"(?<![\w@])@ ?user\b", re.IGNORECASE)  # the model also writes "@ User"


def _unescape(text: str) -> str:
    """The training tweets hold HTML entities ("&amp;"), and the model stutters them ("&amp;amp;amp;...")."""
    while (plain := html.unescape(text)) != text:  # each pass peels one "amp;"; every pass shortens the text
        text = plain
    return text


def _once(text: str) -> str:
    """Each hashtag once: "#vegan #vegan #vegan #vegan" is spam wherever it sits."""
    seen: set[str] = set()

    def first(m: re.Match) -> str:
        tag = m.group().lower()
        if tag in seen:
            return ""
        seen.add(tag)
        return m.group()

    return HASHTAG.sub(first, text)


def tidy(text: str, brief: str = "") -> str:
    """The training tweets (TweetEval) carry anonymised mentions as `@user` and Instagram's check-ins
    (" @ Starbucks"): never publish the placeholder, nor a place the brief did not name; nor a stray emoji selector,
    an HTML entity or a repeated hashtag."""
    text = _once(drop_stray_selectors(_PLACEHOLDER.sub("", _unescape(text))))
    text = strip_checkin(re.sub(r"[ \t]{2,}", " ", text).strip(), keep=brief)
    return re.sub(r"^@\s+", "", text)  # "@ Boss asked me to work today!": a stray check-in marker


def check_request(req: WriteRequest) -> None:
    if req.lang not in LANGUAGES:
        raise BadInput("lang", f"{req.lang!r} is not a language townsquare writes",
                       f"use one of {', '.join(LANGUAGES)}")
    if req.platform not in PLATFORM_LIMITS:
        raise BadInput("platform", f"unknown platform {req.platform!r}", f"use one of {', '.join(PLATFORM_LIMITS)}")
    if not 1 <= req.n <= MAX_CANDIDATES:
        raise BadInput("n", f"{req.n} candidates asked for", f"ask for 1 to {MAX_CANDIDATES} at a time")
    if req.reply_to is None and not (req.brief or "").strip():
        raise BadInput("brief", "is empty", "say what the post should be about, e.g. 'our oat latte is back Monday'")
    if len(req.brief or "") > 2_000:
        raise BadInput("brief", f"{len(req.brief)} characters", "keep a brief under 2,000 characters")
    if req.max_chars is not None and req.max_chars < 20:
        raise BadInput("max_chars", f"{req.max_chars} is too short for a post", "use 20 characters or more")


@lru_cache(maxsize=2)
def create_generator(spec: str | None = None):
    """(generator, adapter path or None): the configured backend with the shipped adapter when it exists."""
    from townsquare.config import get_settings
    from townsquare.create.finetune.shipped import shipped_adapter
    from townsquare.models.llm import get_generator

    spec = spec or get_settings().llm
    if spec == "llamacpp":  # the packaged model: write with its vocabulary trimmed to EN/ZH social text (1.7x faster)
        from townsquare.models.llm.trim import trimmed_gguf

        spec = f"llamacpp:{trimmed_gguf()}"
    kind = "gguf" if spec.startswith("llamacpp") else "peft" if spec.startswith("transformers") else None
    adapter = None
    if kind:
        try:
            adapter = str(shipped_adapter(kind))
        except BadInput:
            adapter = None
    return get_generator(spec, adapter=adapter), adapter


def _max_tokens(limit: int, lang: str) -> int:
    per_token = 1.4 if lang == "zh" else 3.2  # characters per token, measured on tweets and Weibo posts
    return int(min(256, max(24, limit / per_token * 1.1)))


def write(req: WriteRequest, *, generator=None, analyzer=None, store=None) -> WriteResult:
    """N candidates for the request, gated and ranked (passed ones first, best first), the best N of more samples."""
    check_request(req)
    started = time.perf_counter()
    warnings: list[str] = []
    adapter = None
    if generator is None:
        generator, adapter = create_generator()
        if adapter is None:
            warnings.append("no instruction-tuned adapter is installed: the base model only continues text")
    if _INJECTION.search(req.brief or "") or _INJECTION.search(req.reply_to or ""):
        warnings.append("the brief tries to change the rules: it is treated as a topic, and every candidate is "
                        "still checked for toxicity, PII, language and length")
    limit = min(req.max_chars or PLATFORM_LIMITS[req.platform], PLATFORM_LIMITS[req.platform])
    if req.platform == "weibo" and req.max_chars is None:
        limit = 140  # Weibo allows 2,000 characters, but short posts do better
    task = "reply" if req.reply_to else "post"
    prompt = build_prompt(task, req.brief or "", req.lang, req.platform, max_chars=limit, hashtags=req.hashtags,
                          tone=req.tone, reply_to=req.reply_to, voice=req.voice)
    sampling = req.beams == 1 and req.temperature > 0
    sampled = math.ceil(req.n * OVERSAMPLE) if sampling else req.n
    if analyzer is None:
        from townsquare.understand.batch import get_analyzer

        analyzer = get_analyzer()
    # The training tweets' every mention is "@user" or an Instagram check-in, so a candidate that opens with the
    # model's own "@" is a check-in and nothing else ("@ Long Beach, California"): not unless the brief has one.
    avoid = "" if "@" in (req.brief or "") + (req.reply_to or "") else "@"
    most = 0 if req.hashtags is False else HASHTAGS_MAX[req.platform]  # none asked: a closing run of them goes
    gens: list = []
    for round_ in range(ROUNDS if sampling else 1):
        seed = None if req.seed is None else req.seed + round_ * sampled  # candidate j of a round draws seed + j
        gens += generator.generate([prompt], max_tokens=_max_tokens(limit, req.lang), temperature=req.temperature,
                                   top_p=req.top_p, n=sampled, stop=list(STOP), seed=seed, beams=req.beams,
                                   avoid_start=avoid)[0]
        texts = [trim_hashtags(tidy(g.text, req.brief or ""), req.brief or "", most) for g in gens]
        checked = check(texts, lang=req.lang, limit=limit, tone=req.tone, hashtags=req.hashtags,
                        platform=req.platform, analyzer=analyzer, brief=req.brief or "", context=req.reply_to or "")
        for c, g in zip(checked, gens, strict=True):
            if g.finish_reason == "length" and c.passed and len(c.text) >= limit * 0.95:
                c.reject("length: the model ran out of tokens mid-post")
        if sum(c.passed for c in checked) >= req.n:
            break
    scores, ranking = _scores(checked, gens, prompt, generator, analyzer, store)
    out = [Candidate(c.text, c.passed, c.reasons, round(float(s), 4), analysis=c.analysis)
           for c, s in zip(checked, scores, strict=True)]
    out.sort(key=lambda c: (not c.passed, -c.score))
    out = out[:req.n]
    for i, c in enumerate(out, 1):
        c.rank = i
    return WriteResult(out, generator.name, adapter, ranking, warnings, round(time.perf_counter() - started, 3))


def _scores(checked, gens, prompt: str, generator, analyzer, store) -> tuple[np.ndarray, str]:
    """Predicted engagement from the store's own history (on the embeddings the gates computed); without enough
    history, the model's fluency (mean log-probability per token of the candidate after its prompt: as sampled
    where the backend kept it, else scored again)."""
    from townsquare.create.engagement import engagement_model

    texts = [c.text for c in checked]
    if store is not None:
        model = engagement_model(store, analyzer.embedder.name)
        if model is not None:
            return model.predict(np.stack([c.embedding for c in checked]), texts), "engagement"
    if all(g.logprob is not None for g in gens):
        return np.array([g.logprob / max(g.tokens, 1) for g in gens]), "fluency"
    scored = generator.score([t or " " for t in texts], contexts=[prompt] * len(texts))
    return np.array([lp / max(n, 1) for lp, n in scored]), "fluency"


def write_for_alert(kind: str, facts: dict) -> str | None:
    """Listen's holding statement, written by the adapter and gated like any post; None to fall back."""
    if kind != "statement":
        return None  # summaries stay extractive: the adapter was taught posts and replies, not reports
    from townsquare.create.finetune.shipped import ADAPTER_DIR

    if not (ADAPTER_DIR / "adapter_config.json").is_file():
        return None  # no instruction-tuned model: don't load a base model that cannot follow the brief
    lang = facts.get("language") if facts.get("language") in LANGUAGES else "en"
    topic = ", ".join(facts["clusters"][0]["keywords"][:3]) if facts.get("clusters") else ""
    example = next((e["text"] for c in facts.get("clusters", []) for e in c["examples"]), "")
    brief = (f"{facts['watch']}: we know about the reports ({topic}), we are investigating, we are sorry, "
             f"affected customers please message us")
    result = write(WriteRequest(brief=brief, lang=lang, platform="x", n=4, tone="apologetic", hashtags=False,
                                reply_to=example or None, voice=f"{facts['watch']} official account"))
    # Fluency favours short, formulaic lines; a holding statement must say enough (sorry, investigating, contact
    # us): the best candidate that is long enough, or None and Listen posts its labelled template instead.
    best = next((c for c in result.candidates if c.passed and len(c.text) >= (40 if lang == "zh" else 60)), None)
    return best.text if best else None
