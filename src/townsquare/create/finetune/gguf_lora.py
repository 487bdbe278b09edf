"""A peft LoRA adapter as a GGUF LoRA file that llama.cpp loads next to its base model (``lora_path=``).

The layout follows llama.cpp's ``convert_lora_to_gguf.py``:

* metadata ``general.architecture`` (must equal the base model's), ``general.type = "adapter"``,
  ``adapter.type = "lora"``, ``adapter.lora.alpha`` (llama.cpp scales by alpha / rank, as peft does);
* for each adapted weight, ``<gguf name>.lora_a`` and ``.lora_b``, e.g. ``blk.3.attn_q.weight.lora_a``, with
  peft's matrices stored as they are: lora_A (rank x in) and lora_B (out x rank) in numpy order, which GGUF
  records as ne = [in, rank] and [rank, out] -- the shapes llama.cpp checks against the base tensor.

Names come from gguf's own HF -> GGUF tensor map. Only architectures whose attention weights llama.cpp's
converter does not permute are accepted (Gemma 1/2/3, Qwen 2/3): for LLaMA-style models the q/k rows of
lora_B would also need llama.cpp's rotary permutation, which this module does not do (checked against
llama.cpp only for Gemma 3).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from townsquare.errors import BadInput

# HF architecture -> gguf MODEL_ARCH member name.
ARCHITECTURES = {
    "Gemma3ForCausalLM": "GEMMA3", "Gemma3ForConditionalGeneration": "GEMMA3", "Gemma2ForCausalLM": "GEMMA2",
    "GemmaForCausalLM": "GEMMA", "Qwen2ForCausalLM": "QWEN2", "Qwen3ForCausalLM": "QWEN3",
}
_KEY_RE = re.compile(r"^(?:base_model\.model\.)?(?P<module>.+)\.lora_(?P<ab>[AB])(?:\.default)?\.weight$")


def _adapter_files(adapter_dir: Path) -> tuple[dict, dict, str]:
    """(adapter config, tensors by peft key, HF architecture)."""
    from safetensors.numpy import load_file

    config_file, weights_file = adapter_dir / "adapter_config.json", adapter_dir / "adapter_model.safetensors"
    if not config_file.is_file() or not weights_file.is_file():
        raise BadInput("--adapter", f"{adapter_dir} is not a peft adapter folder",
                       "give a folder with adapter_config.json and adapter_model.safetensors")
    config = json.loads(config_file.read_text())
    info_file = adapter_dir / "townsquare.json"
    arch = json.loads(info_file.read_text()).get("architecture", "") if info_file.is_file() else ""
    return config, load_file(weights_file), arch


def export_gguf_lora(adapter_dir: str | Path, output: str | Path, *, architecture: str | None = None,
                     dtype: str = "f16") -> Path:
    """Write ``adapter_dir`` (peft LoRA) as a GGUF LoRA file at ``output``; returns ``output``.

    ``architecture``: the base model's HF architecture (default: from the adapter's townsquare.json).
    ``dtype``: "f16" (half the size; what llama.cpp's converter writes by default) or "f32".
    """
    import gguf
    import numpy as np

    adapter_dir, output = Path(adapter_dir), Path(output)
    config, tensors, known_arch = _adapter_files(adapter_dir)
    arch_name = architecture or known_arch
    if arch_name not in ARCHITECTURES:
        raise BadInput("--architecture", f"no GGUF LoRA export for {arch_name or 'an unknown architecture'}",
                       f"supported: {', '.join(sorted(set(ARCHITECTURES)))}; or merge the adapter and convert "
                       "the full model with llama.cpp's convert_hf_to_gguf.py")
    if config.get("use_rslora") or config.get("use_dora"):
        raise BadInput("--adapter", "rsLoRA/DoRA adapters have no GGUF LoRA form here", "train a plain LoRA")
    if dtype not in ("f16", "f32"):
        raise BadInput("--dtype", f"unknown dtype {dtype!r}", "use f16 or f32")
    arch = getattr(gguf.MODEL_ARCH, ARCHITECTURES[arch_name])
    pairs: dict[str, dict[str, np.ndarray]] = {}
    blocks = 0
    for key, value in tensors.items():
        m = _KEY_RE.match(key)
        if not m:
            raise BadInput("--adapter", f"unexpected tensor {key!r} (not a LoRA A/B matrix)",
                           "export adapters trained without modules_to_save")
        pairs.setdefault(m["module"], {})[m["ab"]] = value
        layer = re.search(r"\.layers\.(\d+)\.", key)
        blocks = max(blocks, int(layer[1]) + 1 if layer else 0)
    names = gguf.get_tensor_name_map(arch, blocks)
    out_type = np.float16 if dtype == "f16" else np.float32
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(output.name + ".partial")
    writer = gguf.GGUFWriter(partial, gguf.MODEL_ARCH_NAMES[arch])
    writer.add_type(gguf.GGUFType.ADAPTER)
    writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
    writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, float(config["lora_alpha"]))
    for module in sorted(pairs, key=_natural):
        ab = pairs[module]
        if set(ab) != {"A", "B"}:
            raise BadInput("--adapter", f"{module} has lora_{''.join(ab)} only", "export a complete adapter")
        gguf_name = names.get_name(f"{module}.weight", try_suffixes=(".weight",))
        if gguf_name is None:
            raise BadInput("--adapter", f"llama.cpp has no tensor for {module}", "adapt attention/MLP projections only")
        writer.add_tensor(f"{gguf_name}.lora_a", np.ascontiguousarray(ab["A"].astype(out_type)))
        writer.add_tensor(f"{gguf_name}.lora_b", np.ascontiguousarray(ab["B"].astype(out_type)))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    partial.replace(output)
    return output


def _natural(name: str) -> list:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]
