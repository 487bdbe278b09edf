"""Generation with Hugging Face transformers on any local causal-LM directory (or a GGUF file).

A GGUF file is dequantised by transformers (slow: ~1 min for Gemma 3 270M) and saved once as
safetensors under ``<data_dir>/models/``; later loads read that folder. This backend is the one for
beam search and for LoRA adapters trained with peft (``adapter=`` a peft adapter directory).
"""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

from townsquare.config import get_settings
from townsquare.errors import BadInput
from townsquare.models.llm.base import (
    Generation,
    check_generate_args,
    check_score_args,
    cut_at_stop,
    too_long,
)
from townsquare.models.llm.packaged import packaged_gguf

BATCH = 8  # prompts per generate() call
LOGITS_BUDGET = 2**27  # floats of (rows x tokens x vocab) logits per scoring pass: 512 MB


def _import_torch():
    try:
        import torch
        import transformers
    except ImportError:
        raise BadInput(
            "TOWNSQUARE_LLM", "the transformers backend needs torch and transformers",
            "pip install 'townsquare[llm]'",
        ) from None
    return torch, transformers


def safetensors_from_gguf(gguf: Path, cache_dir: Path | None = None) -> Path:
    """A transformers model directory made from ``gguf`` (dequantised to float32), made once and kept."""
    _, transformers = _import_torch()
    cache_dir = cache_dir or get_settings().data_dir / "models"
    target = cache_dir / f"{gguf.stem}-{gguf.stat().st_size}"
    if (target / "config.json").is_file():
        return target
    model = transformers.AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
    tokenizer = transformers.AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    # The weights are plain float32 now; without this the saved config would ask for the GGUF again.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    model.save_pretrained(partial)
    tokenizer.save_pretrained(partial)
    partial.rename(target)  # config.json appears only when the whole folder is there
    return target


class TransformersGenerator:
    """``model_dir``: a local transformers directory, or a .gguf file (default: the packaged Gemma 3 270M)."""

    def __init__(self, model_dir: str | Path | None = None, *, adapter: str | Path | None = None):
        torch, transformers = _import_torch()
        path = Path(model_dir) if model_dir else packaged_gguf()
        if not path.exists():
            raise BadInput("TOWNSQUARE_LLM", f"no model at {path}", "give a local transformers model directory")
        if path.suffix == ".gguf":
            path = safetensors_from_gguf(path)
        self.name = f"transformers:{model_dir or ''}".rstrip(":")
        self._torch = torch
        try:
            self._tok = transformers.AutoTokenizer.from_pretrained(path, local_files_only=True)
            model = transformers.AutoModelForCausalLM.from_pretrained(path, local_files_only=True)
        except (OSError, ValueError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise BadInput("TOWNSQUARE_LLM", f"transformers could not load {path}: {first}",
                           "give a directory with config.json, weights and a tokenizer") from None
        if adapter:
            try:
                from peft import PeftModel
            except ImportError:
                raise BadInput("adapter", "LoRA adapters need peft", "pip install peft") from None
            model = PeftModel.from_pretrained(model, str(adapter))
        self._model = model.eval()
        self._tok.padding_side = "left"  # generation continues from the right edge of each row
        if self._tok.pad_token_id is None:
            self._tok.pad_token = self._tok.eos_token
        eos = model.generation_config.eos_token_id
        eos = eos if eos is not None else self._tok.eos_token_id
        self._eos = set(eos) if isinstance(eos, list) else {eos} - {None}
        config = model.config.get_text_config() if hasattr(model.config, "get_text_config") else model.config
        self.context_length = int(
            getattr(config, "max_position_embeddings", None) or getattr(config, "n_positions", None) or 2048
        )
        self._lock = threading.Lock()

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
        avoid_start: str = "",  # not masked here: the caller's checks are the backstop
    ) -> list[list[Generation]]:
        from transformers import GenerationConfig

        stop = check_generate_args(prompts, max_tokens, temperature, top_p, n, stop, beams)
        sample = beams == 1 and temperature > 0
        # Greedy decoding gives one answer; it is repeated n times rather than recomputed.
        returned = n if (sample or beams > 1) else 1
        config = GenerationConfig(
            max_new_tokens=max_tokens, do_sample=sample, num_beams=beams, num_return_sequences=returned,
            temperature=temperature if sample else None, top_p=top_p if sample else None, top_k=None,
            eos_token_id=sorted(self._eos) or None, pad_token_id=self._tok.pad_token_id,
            stop_strings=stop or None,
        )
        results: list[list[Generation]] = []
        with self._lock, self._torch.inference_mode():
            if seed is not None:
                self._torch.manual_seed(seed)
            for start in range(0, len(prompts), BATCH):
                batch = self._tok(prompts[start : start + BATCH], return_tensors="pt", padding=True)
                for k, length in enumerate(batch["attention_mask"].sum(dim=1).tolist()):
                    if length + max_tokens > self.context_length:
                        raise too_long(f"prompts[{start + k}]", length, max_tokens, self.context_length)
                out = self._model.generate(**batch, generation_config=config, tokenizer=self._tok)
                new = out[:, batch["input_ids"].shape[1] :].tolist()
                for k in range(len(new) // returned):
                    rows = [self._finish(ids, max_tokens, stop) for ids in new[k * returned : (k + 1) * returned]]
                    results.append(rows if returned == n else rows * n)
        return results

    def _finish(self, ids: list[int], max_tokens: int, stop: list[str]) -> Generation:
        """Trim one generated row at its end token (rows that finish early are padded after it)."""
        end = next((i for i, t in enumerate(ids) if t in self._eos or t == self._tok.pad_token_id), None)
        text = self._tok.decode(ids[:end], skip_special_tokens=True)
        text, stopped = cut_at_stop(text, stop)
        tokens = len(ids) if end is None else end
        return Generation(text, "stop" if stopped or end is not None else "length", min(tokens, max_tokens))

    def score(self, texts: list[str], *, contexts: list[str] | None = None) -> list[tuple[float, int]]:
        torch = self._torch
        contexts = check_score_args(texts, contexts)
        start_id = self._tok.bos_token_id if self._tok.bos_token_id is not None else self._tok.eos_token_id
        rows = []
        for i, text in enumerate(texts):
            # Start token + context conditions the first text token (GPT-2-like tokenizers add no start token).
            prefix = self._tok(contexts[i] if contexts else "", add_special_tokens=True)["input_ids"]
            targets = self._tok(text, add_special_tokens=False)["input_ids"]
            if start_id is not None and prefix[:1] != [start_id]:
                prefix = [start_id, *prefix]
            if not prefix:  # a tokenizer without any start token: the first token cannot be scored
                prefix, targets = targets[:1], targets[1:]
            if len(prefix) + len(targets) > self.context_length:
                raise too_long(f"texts[{i}]", len(prefix) + len(targets), 0, self.context_length)
            rows.append((prefix, targets))
        results = []
        with self._lock, torch.inference_mode():
            for chunk in self._score_batches(rows):
                width = max(len(p) + len(t) for p, t in chunk)
                ids = torch.full((len(chunk), width), self._tok.pad_token_id, dtype=torch.long)
                mask = torch.zeros_like(ids)
                for k, (p, t) in enumerate(chunk):  # right-padded: positions are the same as unpadded
                    ids[k, : len(p) + len(t)] = torch.tensor(p + t)
                    mask[k, : len(p) + len(t)] = 1
                logits = self._model(input_ids=ids, attention_mask=mask).logits
                for k, (p, t) in enumerate(chunk):
                    if not t:
                        results.append((0.0, 0))
                        continue
                    rows_logits = logits[k, len(p) - 1 : len(p) + len(t) - 1].double()
                    logprobs = rows_logits.log_softmax(dim=-1)[torch.arange(len(t)), torch.tensor(t)]
                    results.append((float(logprobs.sum()), len(t)))
        return results

    def _score_batches(self, rows: list[tuple[list[int], list[int]]]):
        """Consecutive rows, as many at a time as keep the float32 logits under LOGITS_BUDGET."""
        vocab = self._model.get_output_embeddings().weight.shape[0]
        chunk: list[tuple[list[int], list[int]]] = []
        width = 0
        for row in rows:
            grown = max(width, len(row[0]) + len(row[1]))
            if chunk and (len(chunk) + 1) * grown * vocab > LOGITS_BUDGET:
                yield chunk
                chunk, grown = [], len(row[0]) + len(row[1])
            chunk.append(row)
            width = grown
        if chunk:
            yield chunk
