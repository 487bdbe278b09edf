"""The one contract every text generator keeps, plus the argument checks they share.

``generate(prompts, ...)`` takes a batch of completion-style prompts and returns, for each
prompt, a list of ``n`` candidates. ``score(texts)`` returns the summed log-probability and
token count of each text (perplexity = exp(-sum / count)), optionally conditioned on a context
(to rank candidates by how likely the model finds them after their prompt).

Things a backend fixes at construction time, not per call: the model, an optional LoRA adapter,
the context window.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

from townsquare.errors import BadInput

FinishReason = Literal["stop", "length"]


@dataclass(frozen=True)
class Generation:
    """One candidate continuation of a prompt (the prompt itself is not included)."""

    text: str
    finish_reason: FinishReason  # "stop": end of text or a stop sequence; "length": hit max_tokens
    tokens: int  # tokens the model generated for this candidate (never more than max_tokens)
    logprob: float | None = None  # sum of those tokens' log-probabilities (temperature 1), where the backend has it


@runtime_checkable
class Generator(Protocol):
    name: str  # what TOWNSQUARE_LLM would say to get this backend, e.g. "llamacpp:/models/x.gguf"
    context_length: int  # prompt tokens + max_tokens must fit in this

    def generate(
        self,
        prompts: list[str],
        *,
        max_tokens: int = 64,
        temperature: float = 0.7,
        top_p: float = 0.95,
        n: int = 1,
        stop: list[str] | None = None,
        seed: int | None = None,
        beams: int = 1,
        avoid_start: str = "",
    ) -> list[list[Generation]]:
        """``n`` candidates per prompt, in prompt order. ``temperature=0`` is greedy and repeatable.

        ``stop``: the text ends before the first stop sequence (which is not included).
        ``seed``: same seed, same prompts, same settings -> same candidates.
        ``beams`` > 1: beam search (only backends that can; others raise BadInput).
        ``avoid_start``: characters the first token should not hold; llama.cpp never samples such a first token,
        the other backends ignore it (the caller's own checks are the backstop).
        """
        ...

    def score(self, texts: list[str], *, contexts: list[str] | None = None) -> list[tuple[float, int]]:
        """(sum of natural-log probabilities, number of tokens scored) for each text.

        Without ``contexts`` each text is scored from its start (its first token given the
        beginning-of-text token). With ``contexts`` only the tokens of ``texts[i]`` are scored,
        each given ``contexts[i]`` and the text tokens before it.
        """
        ...


def check_generate_args(
    prompts: list[str], max_tokens: int, temperature: float, top_p: float, n: int, stop: list[str] | None, beams: int
) -> list[str]:
    """Reject bad arguments with a message naming the argument; return the stop list (never None)."""
    if isinstance(prompts, str):
        raise BadInput("prompts", "got one string, expected a list of strings", "wrap it: [prompt]")
    if max_tokens < 1:
        raise BadInput("max_tokens", f"must be at least 1, got {max_tokens}")
    if temperature < 0:
        raise BadInput("temperature", f"must be >= 0, got {temperature}", "use 0 for greedy decoding")
    if not 0 < top_p <= 1:
        raise BadInput("top_p", f"must be in (0, 1], got {top_p}")
    if n < 1:
        raise BadInput("n", f"must be at least 1, got {n}")
    if beams < 1:
        raise BadInput("beams", f"must be at least 1, got {beams}")
    if beams > 1 and n > beams:
        raise BadInput("n", f"beam search returns at most beams={beams} candidates, asked for n={n}", "raise beams")
    stop = list(stop or [])
    if any(not s for s in stop):
        raise BadInput("stop", "contains an empty string", "remove it")
    return stop


def check_score_args(texts: list[str], contexts: list[str] | None) -> list[str] | None:
    if isinstance(texts, str):
        raise BadInput("texts", "got one string, expected a list of strings", "wrap it: [text]")
    if contexts is not None and len(contexts) != len(texts):
        raise BadInput("contexts", f"has {len(contexts)} items for {len(texts)} texts", "pass one context per text")
    return contexts


def no_beams(backend: str, beams: int) -> None:
    if beams > 1:
        raise BadInput(
            "beams", f"beam search is not available in the {backend} backend",
            "use TOWNSQUARE_LLM=transformers:/path/to/model, or sample several candidates with n",
        )


def too_long(where: str, tokens: int, max_tokens: int, context_length: int) -> BadInput:
    """The error for input that does not fit the context window (max_tokens=0 when scoring)."""
    asked = f"{tokens} prompt tokens + max_tokens={max_tokens}" if max_tokens else f"{tokens} tokens"
    fix = "shorten the prompt or lower max_tokens" if max_tokens else "shorten the text"
    return BadInput(where, f"{asked} exceed the model's context of {context_length} tokens", fix)


def cut_at_stop(text: str, stop: list[str]) -> tuple[str, bool]:
    """Text before the earliest stop sequence, and whether one was found."""
    cut = min((i for i in (text.find(s) for s in stop) if i >= 0), default=-1)
    return (text[:cut], True) if cut >= 0 else (text, False)
