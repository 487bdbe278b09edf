"""The one prompt format the create adapter is trained on, and that generation must use to get its behaviour.

A completion-style template (the base model follows no chat template; our fine-tuning teaches this one):

    ### Task: post
    ### Language: en
    ### Platform: x
    ### Length: under 140 characters
    ### Hashtags: yes
    ### Tone: joy
    ### Brief: coffee, monday, #motivation
    ### Post:
    <the post><eos>

and for replies (``Voice`` optional, ``Reply to`` the post being answered):

    ### Task: reply
    ### Language: zh
    ### Platform: weibo
    ### Length: under 80 characters
    ### Voice: customer support agent
    ### Reply to: 怎么还没发货？
    ### Reply:
    <the reply><eos>

The answer ends with the tokenizer's end-of-text token, so both backends stop on their own; ``STOP`` is a
textual guard for a model that runs on anyway. Every field is one line: user text is flattened (newlines and
runs of spaces become one space) and ``###`` inside it is defused, so a brief cannot forge a field of its own.
"""

from __future__ import annotations

import re

from townsquare.errors import BadInput

FORMAT_VERSION = 1
TASKS = ("post", "reply")
LANGUAGES = ("en", "zh")
# Hard character limits per platform; Weibo allows 2,000 but short posts do better, so briefs ask for less.
PLATFORM_LIMITS = {"x": 280, "mastodon": 500, "weibo": 2000}
# "under N characters" targets the model saw in training; a request is rounded up to the next one.
LENGTH_STEPS = (40, 80, 140, 200, 280, 500, 1000, 2000)
STOP = ["\n### "]
MAX_FIELD_CHARS = 600  # a brief or a post replied to is cut here (the model saw nothing longer)

_SPACE_RE = re.compile(r"\s+")
_HASHES_RE = re.compile(r"#{3,}")


def clean_field(text: str, limit: int = MAX_FIELD_CHARS) -> str:
    """One line of user text, safe inside a field: whitespace flattened, ``###`` defused, cut at ``limit``."""
    text = _HASHES_RE.sub("#", _SPACE_RE.sub(" ", text or "")).strip()
    return text[:limit].rstrip()


def length_step(chars: int, platform: str = "x") -> int:
    """The smallest trained length target that is at least ``chars`` (never above the platform's limit)."""
    cap = PLATFORM_LIMITS.get(platform, 2000)
    step = next((s for s in LENGTH_STEPS if s >= chars), LENGTH_STEPS[-1])
    return min(step, cap)


def build_prompt(
    task: str,
    brief: str = "",
    lang: str = "en",
    platform: str = "x",
    *,
    max_chars: int | None = None,
    hashtags: bool | None = None,
    tone: str | None = None,
    reply_to: str | None = None,
    voice: str | None = None,
) -> str:
    """The prompt for one request; the model's answer (up to its end token) is the post or the reply.

    ``task``: "post" (needs ``brief``: topic, key points, keywords) or "reply" (needs ``reply_to``, the post
    being answered; ``brief`` optional: what the reply should say). ``max_chars`` defaults to the platform's
    limit and is rounded up to a trained step (40, 80, 140, 200, 280, 500, 1000, 2000) no larger than that
    limit: check the final length yourself. ``hashtags``: ask for (True) or against (False) hashtags;
    None leaves it to the model. ``tone``: e.g. joy, optimism, sadness, anger, ironic, neutral.
    ``voice``: who is speaking, e.g. "customer support agent".
    """
    if task not in TASKS:
        raise BadInput("task", f"unknown task {task!r}", f"use one of {', '.join(TASKS)}")
    if lang not in LANGUAGES:
        raise BadInput("lang", f"language {lang!r} is not supported", f"use one of {', '.join(LANGUAGES)}")
    if platform not in PLATFORM_LIMITS:
        raise BadInput("platform", f"unknown platform {platform!r}", f"use one of {', '.join(PLATFORM_LIMITS)}")
    brief = clean_field(brief)
    if task == "post" and not brief:
        raise BadInput("brief", "is empty", "say what the post should be about, e.g. 'our new oat latte, from Monday'")
    reply_to = clean_field(reply_to or "")
    if task == "reply" and not reply_to:
        raise BadInput("reply_to", "is empty", "give the text of the post to reply to")
    limit = PLATFORM_LIMITS[platform]
    if max_chars is not None and max_chars < 1:
        raise BadInput("max_chars", f"must be at least 1, got {max_chars}")
    target = length_step(min(max_chars or limit, limit), platform)
    lines = [f"### Task: {task}", f"### Language: {lang}", f"### Platform: {platform}",
             f"### Length: under {target} characters"]
    if hashtags is not None:
        lines.append(f"### Hashtags: {'yes' if hashtags else 'no'}")
    if tone:
        lines.append(f"### Tone: {clean_field(tone, 40)}")
    if voice:
        lines.append(f"### Voice: {clean_field(voice, 80)}")
    if task == "reply":
        lines.append(f"### Reply to: {reply_to}")
        if brief:
            lines.append(f"### Brief: {brief}")
        lines.append("### Reply:")
    else:
        lines.append(f"### Brief: {brief}")
        lines.append("### Post:")
    return "\n".join(lines) + "\n"
