"""The LoRA adapter that ships with townsquare (built by scripts/build_create_adapter.py).

``shipped_adapter("peft")`` is the peft folder (for TOWNSQUARE_LLM=transformers); ``shipped_adapter("gguf")``
is the same adapter as a GGUF LoRA file for llama.cpp, converted on first use into the data dir.
"""

from __future__ import annotations

from pathlib import Path

from townsquare.errors import BadInput

ASSET_DIR = Path(__file__).resolve().parents[2] / "assets" / "create"
ADAPTER_DIR = ASSET_DIR / "adapter"


def shipped_adapter(kind: str = "peft") -> Path:
    """Path of the shipped adapter: "peft" (a folder) or "gguf" (a file for llama.cpp's ``lora_path``)."""
    if kind not in ("peft", "gguf"):
        raise BadInput("adapter", f"unknown adapter kind {kind!r}", "use peft or gguf")
    if not (ADAPTER_DIR / "adapter_config.json").is_file():
        raise BadInput("adapter", f"the shipped adapter is missing from {ADAPTER_DIR}",
                       "reinstall townsquare, or build it with scripts/build_create_adapter.py")
    if kind == "peft":
        return ADAPTER_DIR
    from townsquare.config import get_settings
    from townsquare.create.finetune.gguf_lora import export_gguf_lora

    weights = ADAPTER_DIR / "adapter_model.safetensors"
    stamp = f"{int(weights.stat().st_mtime)}-{weights.stat().st_size}"
    target = get_settings().data_dir / "models" / f"create-adapter-{stamp}.gguf"
    if not target.is_file():
        export_gguf_lora(ADAPTER_DIR, target)
    return target
