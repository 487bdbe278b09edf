"""Perplexity of texts under a generator: exp(-(sum of token log-probabilities) / tokens), over all texts.

Each text is scored from the start of text (``Generator.score(texts)``), so the figure is the model's
per-token surprise at the platform's own posts. ``adapter``: "shipped" (the adapter in the package), None
or "none" (the base model), a peft adapter folder (transformers) or a GGUF LoRA file (llama.cpp).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from townsquare.errors import BadInput

CHUNK = 32  # texts per score() call: progress moves, memory stays flat


@dataclass(frozen=True)
class Perplexity:
    perplexity: float
    tokens: int
    texts: int
    logprob: float

    def as_dict(self) -> dict:
        return {"perplexity": self.perplexity, "tokens": self.tokens, "texts": self.texts}


def read_texts(path: str | Path) -> list[str]:
    """The non-empty ``text`` fields of a JSONL file (a .txt file: one text per line)."""
    path = Path(path)
    if not path.is_file():
        raise BadInput("--input", f"no file at {path}", 'give a JSONL file with one {"text": ...} per line')
    texts = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        if path.suffix.lower() == ".txt":
            texts.append(line.strip())
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise BadInput("--input", f"line {n} of {path.name} is not JSON ({exc.msg})",
                           'write one {"text": ...} object per line') from None
        text = record.get("text") if isinstance(record, dict) else None
        if not isinstance(text, str):
            raise BadInput("--input", f"line {n} of {path.name} has no text field", 'write {"text": ...}')
        if text.strip():
            texts.append(text)
    if not texts:
        raise BadInput("--input", f"{path.name} holds no texts", 'write one {"text": ...} per line')
    return texts


def resolve_adapter(adapter: str | Path | None, backend: str | None = None) -> tuple[str, str | None]:
    """(backend, adapter path or None) for an --adapter value: "shipped", "none"/None, a folder or a .gguf."""
    if adapter is None or str(adapter).lower() == "none":
        return backend or "transformers", None
    if str(adapter) == "shipped":
        from townsquare.create.finetune.shipped import shipped_adapter

        backend = backend or "transformers"
        return backend, str(shipped_adapter("gguf" if backend == "llamacpp" else "peft"))
    path = Path(adapter)
    if path.is_file() and path.suffix == ".gguf":
        if backend not in (None, "llamacpp"):
            raise BadInput("--adapter", f"{path.name} is a GGUF LoRA file", "use it with --backend llamacpp")
        return "llamacpp", str(path)
    if path.is_dir() and (path / "adapter_config.json").is_file():
        if backend not in (None, "transformers"):
            raise BadInput("--adapter", f"{path} is a peft folder", "use it with --backend transformers")
        return "transformers", str(path)
    raise BadInput("--adapter", f"{adapter} is neither a peft adapter folder nor a .gguf LoRA file",
                   "give none, a peft adapter folder, or a GGUF LoRA file")


def perplexity(texts: Sequence[str], generator, progress: Callable[[int], None] | None = None) -> Perplexity:
    """Perplexity of ``texts`` under ``generator`` (anything with ``score(texts)``)."""
    if isinstance(texts, str):
        raise BadInput("texts", "got one string, expected a list of strings", "wrap it: [text]")
    total, tokens = 0.0, 0
    for start in range(0, len(texts), CHUNK):
        chunk = list(texts[start : start + CHUNK])
        for logprob, n in generator.score(chunk):
            total += logprob
            tokens += n
        if progress:
            progress(len(chunk))
    if not tokens:
        raise BadInput("texts", "contain no tokens to score", "give non-empty texts")
    return Perplexity(math.exp(-total / tokens), tokens, len(texts), total)


def load_scorer(adapter: str | Path | None = "shipped", *, backend: str | None = None, model: str | None = None):
    """The generator that scores for ``perplexity``: the packaged model (or ``model``) plus the adapter."""
    from townsquare.models.llm import get_generator

    backend, path = resolve_adapter(adapter, backend)
    spec = f"{backend}:{model}" if model else backend
    return get_generator(spec, adapter=path)
