"""The checks every candidate passes before anyone sees it as usable: platform limit, language, toxicity,
PII, tone, hashtags, emptiness and duplicates. Each failure is a reason a person can read.

The understand models do the judging, in one batched pass over all candidates.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

TOXICITY_MAX = 0.5
POSITIVE_TONES = {"joy", "optimism", "positive", "friendly", "excited", "enthusiastic", "warm", "celebratory"}
CALM_TONES = {"neutral", "informative", "calm", "professional", "apologetic", "empathetic", "reassuring"}
NEGATIVE_MAX = 0.6  # a positive or calm tone rejects candidates the sentiment head finds this negative
REGRET_TONES = {"apologetic", "empathetic"}  # an apology reads negative to a sentiment model: only reject hostility
NEGATIVE_MAX_REGRET = 0.9
_HASHTAG = re.compile(r"(?<![\w#])#\w+")
_SENTENCE_END = re.compile(r"[.!?。！？…]")


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


def check(texts: list[str], *, lang: str, limit: int, tone: str | None, hashtags: bool | None,
          platform: str, analyzer) -> list[Checked]:
    out = [Checked(t) for t in texts]
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
        if r["pii"]:
            kinds = ", ".join(sorted({p["kind"] for p in r["pii"]}))
            c.reject(f"pii: contains personal data ({kinds})")
        negative = r["sentiment"]["scores"]["negative"]
        wanted = (tone or "").lower()
        bar = NEGATIVE_MAX_REGRET if wanted in REGRET_TONES else NEGATIVE_MAX
        if (wanted in POSITIVE_TONES or wanted in CALM_TONES) and negative >= bar:
            c.reject(f"tone: reads negative ({negative:.0%}), asked for {tone}")
        if wanted in POSITIVE_TONES and r["sentiment"]["label"] != "positive" and negative >= 0.4:
            c.reject(f"tone: not {tone} (sentiment {r['sentiment']['label']})")
        tags = _HASHTAG.findall(c.text)
        if hashtags is False and tags:
            c.reject(f"hashtags: has {', '.join(tags[:3])}, asked for none")
        key = re.sub(r"\W+", "", c.text.lower())
        if key and key in seen:
            c.reject(f"duplicate: same words as another candidate ({texts[seen[key]][:40]!r})")
        else:
            seen.setdefault(key, i)
    return out
