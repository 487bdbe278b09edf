"""Text generators behind one interface (see ``base.Generator``), picked by the setting TOWNSQUARE_LLM:

* ``llamacpp`` (default): llama.cpp on the packaged Gemma 3 270M base model (GGUF Q4_K_M);
* ``llamacpp:/path/model.gguf``: llama.cpp on another GGUF file;
* ``transformers``: transformers on the packaged model (saved once as safetensors, ~7x slower);
* ``transformers:/path/to/model``: any local Hugging Face model directory (or a .gguf file);
* ``http://host:port/v1`` (or https): an OpenAI-compatible server — vLLM, llama.cpp server, Ollama,
  a hosted API; TOWNSQUARE_LLM_MODEL and TOWNSQUARE_LLM_API_KEY pick the model and carry the key.

``get_generator(adapter=...)`` adds a LoRA adapter: a GGUF LoRA file for llama.cpp, a peft adapter
directory for transformers, the adapter's served model name for an HTTP server.
"""

from __future__ import annotations

from functools import lru_cache

from townsquare.config import get_settings
from townsquare.errors import BadInput
from townsquare.models.llm.base import FinishReason, Generation, Generator

__all__ = ["FinishReason", "Generation", "Generator", "get_generator"]

SPEC_HELP = "use llamacpp, llamacpp:/path/model.gguf, transformers, transformers:/path/to/model or http://host:port/v1"


def get_generator(spec: str | None = None, *, adapter: str | None = None) -> Generator:
    """The generator named by ``spec`` (default: the TOWNSQUARE_LLM setting), loaded once per process."""
    settings = get_settings()
    spec = (spec if spec is not None else settings.llm).strip()
    if spec.startswith(("http://", "https://")):
        return _load(spec, adapter, settings.llm_model, settings.llm_api_key)
    return _load(spec, adapter, "", "")


@lru_cache(maxsize=4)
def _load(spec: str, adapter: str | None, model: str, api_key: str) -> Generator:
    kind, _, target = spec.partition(":")
    if kind in ("http", "https"):
        from townsquare.models.llm.http import HTTPGenerator

        return HTTPGenerator(spec, model=adapter or model, api_key=api_key)
    if kind == "llamacpp":
        from townsquare.models.llm.llamacpp import LlamaCppGenerator

        return LlamaCppGenerator(target or None, lora_path=adapter)
    if kind == "transformers":
        from townsquare.models.llm.hf import TransformersGenerator

        return TransformersGenerator(target or None, adapter=adapter)
    raise BadInput("TOWNSQUARE_LLM", f"unknown generator {spec!r}", SPEC_HELP)
