"""The words of an alert: a short summary of what happened and a holding statement the team can edit and post.

With the create job's instruction-tuned model installed, both are written by it (`"method": "llm"`); without it,
the summary is built from the alert's own numbers and posts (`"method": "extractive"`) and the statement from a
template in the conversation's language (`"method": "template"`) — labelled, so nobody mistakes one for the other.
"""

from __future__ import annotations


def _when(facts: dict) -> str:
    start = facts["bucket_start"].replace("T", " ").rstrip("Z")[:16]
    return f"{start} UTC"


def _usual(expected: float) -> str:
    return f"{expected:.1f}".removesuffix(".0")  # a median of counts: 1.5 stays 1.5, 2.0 is 2


def _extractive(facts: dict) -> str:
    metric = "negative posts" if facts["metric"] == "negative" else "posts"
    notes = [f"{facts['ratio']}x the usual {_usual(facts['expected'])}"] if facts.get("ratio") else []
    volume = next((o for o in facts.get("also", []) if o["metric"] == "volume"), None)
    if volume:  # the same bucket's volume jump joined this alert: "(of 18 posts, 18.0x the usual 1)"
        notes.append(f"of {volume['value']:.0f} posts" + (f", {volume['value'] / volume['expected']:.1f}x the usual "
                                                          f"{_usual(volume['expected'])}" if volume["expected"] else ""))
    ratio = f" ({'; '.join(notes)})" if notes else ""
    parts = [f"{facts['value']:.0f} {metric} about {facts['watch']} in the {facts['minutes']} min from "
             f"{_when(facts)}{ratio}."]
    threads = [f"“{c['label']}” ({c['posts']} posts)" for c in facts["clusters"][:3]]
    if threads:
        parts.append("Main threads: " + "; ".join(threads) + ".")
    langs = ", ".join(f"{k} {v:.0%}" for k, v in facts["languages"].items())
    parts.append(f"Languages: {langs}.")
    if facts["top_authors"] and facts["top_authors"][0]["handle"]:
        a = facts["top_authors"][0]
        parts.append(f"Most-reached author: @{a['handle']} ({a['followers']:,} followers).")
    example = next((e["text"] for c in facts["clusters"] for e in c["examples"]), "")
    if example:
        parts.append(f"Example: “{example[:160]}”")
    return " ".join(parts)


_TEMPLATES = {
    "en": ("We're aware of reports about {topic} with {watch} and we're looking into it now. We take this seriously "
           "and will share an update here as soon as we can. If you're affected, please message us directly so "
           "we can help."),
    "zh": ("我们已经注意到关于{watch}{topic}的反馈，正在紧急核实。我们非常重视，会第一时间在这里发布进展。"
           "如您受到影响，请私信我们，我们会尽快协助处理。"),
}


def _llm_text(prompt_kind: str, facts: dict) -> str | None:
    """The instruction-tuned generator's answer, or None when none is installed."""
    try:
        from townsquare.create.writer import write_for_alert  # the create job's adapter, when shipped
    except ImportError:
        return None
    try:
        return write_for_alert(prompt_kind, facts)
    except Exception:  # noqa: BLE001 - an alert must never fail because the writer did; fall back, labelled
        return None


def summarise(facts: dict) -> dict:
    text = _llm_text("summary", facts)
    if text:
        return {"text": text, "method": "llm"}
    return {"text": _extractive(facts), "method": "extractive",
            "note": "built from the alert's numbers and posts; no instruction-tuned model is installed"}


def draft_statement(facts: dict) -> dict:
    lang = facts["language"] if facts["language"] in _TEMPLATES else "en"
    text = _llm_text("statement", facts)
    if text:
        return {"text": text, "language": lang, "method": "llm"}
    words = facts["clusters"][0]["keywords"][:2] if facts["clusters"] else []
    if lang == "en":
        topic = " and ".join(words) if words else "an issue"
    else:
        topic = "“" + "、".join(words) + "”" if words else "的问题"
    return {"text": _TEMPLATES[lang].format(watch=facts["watch"], topic=topic), "language": lang,
            "method": "template", "note": "a template to edit before posting"}
