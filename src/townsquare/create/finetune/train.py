"""LoRA fine-tuning (peft) of a causal LM on training pairs, with checkpoints, resume and held-out perplexity.

``train(pairs, output, model=None, valid=..., config=...)``:

* ``model``: None (the packaged Gemma 3 270M, read once from its GGUF and cached as safetensors), a local
  Hugging Face causal-LM directory, or a .gguf file.
* Loss: the mean negative log-likelihood of each pair's completion and end token given its prompt (prompt
  tokens are context only). Only those positions go through the output layer: with Gemma's 262k-token
  vocabulary the output layer is most of the compute, and prompts are about half of each example.
* Checkpoints every ``checkpoint_every`` steps under ``output/checkpoints/step-NNNNNN`` (adapter weights,
  optimizer, schedule, random state), written to a temporary folder and renamed, so a kill at any moment
  leaves the previous one whole. Running the same command again (same data, same settings) resumes from the
  newest checkpoint; the data order is a function of the seed and the epoch alone, and dropout is off by
  default, so a resumed run matches an uninterrupted one (tests: to ~1e-6).
* Perplexity of the validation pairs' completions (and of ``eval_texts`` as plain text) before and after;
  the finished adapter goes to ``output/adapter`` with ``townsquare.json`` describing how it was made.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from townsquare.create.finetune.data import TrainingPair
from townsquare.create.finetune.prompt import FORMAT_VERSION
from townsquare.errors import BadInput

ProgressFn = Callable[[dict], None]
IGNORE = -100


@dataclass
class TrainConfig:
    rank: int = 8
    alpha: float = 16.0
    dropout: float = 0.0  # > 0 regularises, but a resumed run then differs from an uninterrupted one
    target_modules: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
    learning_rate: float = 2e-4
    weight_decay: float = 0.0
    warmup_steps: int = 20
    batch_size: int = 4
    max_tokens: int = 128  # per example, prompt + completion + end token; longer completions are cut
    epochs: float = 1.0
    max_steps: int | None = None  # stops early (counts toward the schedule: the schedule is set by it)
    checkpoint_every: int = 50
    keep_checkpoints: int = 2
    seed: int = 0
    eval_batch_size: int = 8
    half: bool = True  # the final adapter is saved in float16 (half the size; loads into float32 models)

    def fingerprint_fields(self) -> dict:
        """What must match for a checkpoint to be resumed (not how often it checkpoints)."""
        fields = asdict(self)
        for k in ("checkpoint_every", "keep_checkpoints", "eval_batch_size", "half"):
            fields.pop(k)
        fields["target_modules"] = list(self.target_modules)
        return fields


@dataclass
class TrainResult:
    adapter: Path
    steps: int
    examples: int
    skipped: int  # pairs whose prompt alone did not fit max_tokens
    resumed_from: int  # 0 for a fresh run
    seconds: float
    ppl_before: dict[str, float | None] = field(default_factory=dict)  # "valid" and each eval_texts set
    ppl_after: dict[str, float | None] = field(default_factory=dict)
    losses: list[float] = field(default_factory=list)


def _torch():
    try:
        import peft  # noqa: F401
        import torch
        import transformers  # noqa: F401
    except ImportError:
        raise BadInput("finetune", "fine-tuning needs torch, transformers and peft",
                       "pip install 'townsquare[llm]'") from None
    return torch


def resolve_model(model: str | Path | None) -> Path:
    """A local transformers model directory for ``model`` (None: the packaged Gemma 3 270M)."""
    from townsquare.models.llm.hf import safetensors_from_gguf
    from townsquare.models.llm.packaged import packaged_gguf

    path = Path(model) if model else packaged_gguf()
    if not path.exists():
        raise BadInput("--model", f"no model at {path}", "give a local Hugging Face model directory or a .gguf file")
    if path.suffix == ".gguf":
        return safetensors_from_gguf(path)
    if not (path / "config.json").is_file():
        raise BadInput("--model", f"{path} has no config.json", "give a Hugging Face causal-LM directory")
    return path


def load_model(path: Path):
    """(model in float32, tokenizer) from a local directory."""
    _torch()
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(path, local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(path, local_files_only=True, dtype="float32")
    return model, tok


# ---- tokenising -------------------------------------------------------------------------------------------------
def encode_pairs(tok, pairs: Sequence[TrainingPair], max_tokens: int, end: bool = True
                 ) -> tuple[list[tuple[list[int], int]], int]:
    """[(token ids, index of the first scored token)] and how many pairs were skipped (prompt too long).

    Start token + prompt + completion + end token; prompt and completion are tokenised apart, as generation
    sees the prompt alone and continues it. ``end=False`` leaves the end token out (as ``Generator.score``
    does, so plain-text perplexities here and from ``townsquare lm perplexity`` agree).
    """
    bos = tok.bos_token_id if tok.bos_token_id is not None else tok.eos_token_id
    eos = tok.eos_token_id
    rows, skipped = [], 0
    prompts = tok([p.prompt for p in pairs], add_special_tokens=False)["input_ids"] if pairs else []
    texts = tok([p.completion for p in pairs], add_special_tokens=False)["input_ids"] if pairs else []
    for prompt, text in zip(prompts, texts, strict=True):
        head = [bos, *prompt] if bos is not None else list(prompt)
        if not head:  # no start token and no prompt: the first token can only be context
            head, text = text[:1], text[1:]
        room = max_tokens - len(head)
        if room < 8 or not text:
            skipped += 1
            continue
        body = [*text, eos] if eos is not None and end else list(text)
        rows.append((head + body[:room], len(head)))
    return rows, skipped


def _batches(rows: list[tuple[list[int], int]], batch_size: int, seed: int, epoch: int) -> list[list[int]]:
    """Index batches for one epoch: shuffled by (seed, epoch), grouped by length within windows (less padding)."""
    import numpy as np

    rng = np.random.default_rng([seed, epoch])
    order = rng.permutation(len(rows))
    window = batch_size * 16
    batches = []
    for start in range(0, len(order), window):
        chunk = sorted(order[start : start + window].tolist(), key=lambda i: len(rows[i][0]))
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]


def _collate(torch, rows: list[tuple[list[int], int]], pad_id: int):
    width = max(len(ids) for ids, _ in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    labels = torch.full((len(rows), width), IGNORE, dtype=torch.long)
    for k, (row, first) in enumerate(rows):
        ids[k, : len(row)] = torch.tensor(row)
        mask[k, : len(row)] = 1
        labels[k, first : len(row)] = torch.tensor(row[first:])
    return ids, mask, labels


def nll_sum(model, ids, mask, labels):
    """(summed negative log-likelihood of the labelled tokens, their count); logits only where needed."""
    import torch
    import torch.nn.functional as F

    inner = model.get_base_model() if hasattr(model, "get_base_model") else model
    decoder, head = getattr(inner, "model", None), inner.get_output_embeddings()
    targets = labels[:, 1:]
    keep = targets != IGNORE
    if decoder is None or head is None:  # an unusual architecture: the plain forward pass
        logits = model(input_ids=ids, attention_mask=mask).logits[:, :-1][keep]
    else:
        hidden = decoder(input_ids=ids, attention_mask=mask).last_hidden_state
        logits = head(hidden[:, :-1][keep])
        cap = getattr(inner.config, "final_logit_softcapping", None)
        if cap:
            logits = torch.tanh(logits / cap) * cap
    return F.cross_entropy(logits.float(), targets[keep], reduction="sum"), int(keep.sum())


def evaluate(model, tok, rows: list[tuple[list[int], int]], batch_size: int = 8) -> float | None:
    """Perplexity of the scored tokens of ``rows`` (None when there are none)."""
    torch = _torch()
    if not rows:
        return None
    total, count = 0.0, 0
    pad = tok.pad_token_id if tok.pad_token_id is not None else 0
    was_training = model.training
    model.eval()
    with torch.inference_mode():
        ordered = sorted(rows, key=lambda r: len(r[0]))
        for start in range(0, len(ordered), batch_size):
            nll, n = nll_sum(model, *_collate(torch, ordered[start : start + batch_size], pad))
            total, count = total + float(nll), count + n
    model.train(was_training)
    return math.exp(total / count) if count else None


# ---- checkpoints ----------------------------------------------------------------------------------------------
def _fingerprint(config: TrainConfig, model_path: Path, rows: list[tuple[list[int], int]]) -> str:
    h = hashlib.sha256(json.dumps(config.fingerprint_fields(), sort_keys=True).encode())
    h.update(str(model_path.resolve()).encode())
    for ids, first in rows:
        h.update(f"{first}:{','.join(map(str, ids))};".encode())
    return h.hexdigest()[:16]


def _checkpoints(output: Path) -> list[Path]:
    root = output / "checkpoints"
    # a "step-N.partial" folder is a checkpoint cut short by a crash: its state.pt may be truncated
    return sorted(p for p in root.glob("step-*") if p.suffix != ".partial" and (p / "state.pt").is_file()) \
        if root.is_dir() else []


def _save_checkpoint(torch, output: Path, model, optimizer, scheduler, state: dict, keep: int) -> None:
    from peft import get_peft_model_state_dict
    from safetensors.torch import save_file

    final = output / "checkpoints" / f"step-{state['step']:06d}"
    partial = final.with_name(final.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    weights = {k: v.detach().contiguous() for k, v in get_peft_model_state_dict(model).items()}
    save_file(weights, partial / "adapter.safetensors")
    torch.save({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                "rng": torch.get_rng_state(), **state}, partial / "state.pt")
    shutil.rmtree(final, ignore_errors=True)
    partial.rename(final)  # state.pt appears under the final name only when everything is written
    for old in _checkpoints(output)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)


def _load_checkpoint(torch, path: Path, model, optimizer, scheduler) -> dict:
    from peft import set_peft_model_state_dict
    from safetensors.torch import load_file

    set_peft_model_state_dict(model, load_file(path / "adapter.safetensors"))
    state = torch.load(path / "state.pt", weights_only=False)
    optimizer.load_state_dict(state.pop("optimizer"))
    scheduler.load_state_dict(state.pop("scheduler"))
    torch.set_rng_state(state.pop("rng"))
    return state


def _schedule(step: int, warmup: int, total: int) -> float:
    """Linear warm-up, then cosine decay to a tenth of the peak."""
    if step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress))


# ---- training ----------------------------------------------------------------------------------------------------
def train(
    pairs: Sequence[TrainingPair],
    output: str | Path,
    *,
    model: str | Path | None = None,
    valid: Sequence[TrainingPair] = (),
    eval_texts: Mapping[str, Sequence[str]] | None = None,
    config: TrainConfig | None = None,
    restart: bool = False,
    stop_at: int | None = None,
    progress: ProgressFn | None = None,
    meta: dict | None = None,
) -> TrainResult:
    """Fine-tune a LoRA adapter on ``pairs``; resumes from ``output``'s newest checkpoint if there is one.

    ``progress`` is called with dicts: {"phase": "eval_before"|"train"|"eval_after", "step", "total", "loss"}.
    Raise KeyboardInterrupt from it (or press Ctrl-C) to stop: a checkpoint of the last finished step is kept.
    ``stop_at``: finish at this step (evaluate and save the adapter) although the schedule runs longer -- a
    time budget; it is not part of the run's identity, so a run can be resumed with a ``stop_at`` added.
    """
    torch = _torch()
    from peft import LoraConfig, get_peft_model

    config = config or TrainConfig()
    output = Path(output)
    report = progress or (lambda event: None)
    started = time.perf_counter()
    model_path = resolve_model(model)
    base, tok = load_model(model_path)
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token
    rows, skipped = encode_pairs(tok, pairs, config.max_tokens)
    if not rows:
        raise BadInput("pairs", "no training example fits", f"give posts shorter than {config.max_tokens} tokens")
    valid_rows, _ = encode_pairs(tok, valid, config.max_tokens)
    eval_rows = {"valid": valid_rows}
    for name, texts in (eval_texts or {}).items():
        eval_rows[name] = encode_pairs(tok, [TrainingPair("", t) for t in texts], config.max_tokens, end=False)[0]
    steps_per_epoch = math.ceil(len(rows) / config.batch_size)
    total = max(1, math.ceil(steps_per_epoch * config.epochs))
    if config.max_steps:
        total = min(total, config.max_steps)
    fingerprint = _fingerprint(config, model_path, rows)

    run_file = output / "run.json"
    if restart:
        shutil.rmtree(output / "checkpoints", ignore_errors=True)
    elif run_file.is_file() and _checkpoints(output):
        previous = json.loads(run_file.read_text()).get("fingerprint")
        if previous != fingerprint:
            raise BadInput("--output", f"{output} holds a run with other data or settings",
                           "use a new --output folder, or --restart to start over")
    output.mkdir(parents=True, exist_ok=True)
    run_file.write_text(json.dumps({"fingerprint": fingerprint, "model": str(model_path),
                                    "config": config.fingerprint_fields(), "examples": len(rows)}, indent=1))

    torch.manual_seed(config.seed)
    lora = LoraConfig(r=config.rank, lora_alpha=config.alpha, lora_dropout=config.dropout,
                      target_modules=list(config.target_modules), bias="none", task_type="CAUSAL_LM")
    net = get_peft_model(base, lora)
    params = [p for p in net.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=config.learning_rate, weight_decay=config.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: _schedule(s, config.warmup_steps, total))

    state = {"step": 0, "losses": [], "ppl_before": {}}
    resumed_from = 0
    checkpoints = _checkpoints(output)
    if checkpoints:
        state = _load_checkpoint(torch, checkpoints[-1], net, optimizer, scheduler)
        resumed_from = state["step"]
    else:
        report({"phase": "eval_before", "step": 0, "total": total})
        with net.disable_adapter():
            state["ppl_before"] = {k: evaluate(net, tok, r, config.eval_batch_size) for k, r in eval_rows.items()}

    pad = tok.pad_token_id
    net.train()
    step = state["step"]
    consistent = True  # False while a step is half-applied: no checkpoint from an interrupt then
    end = min(total, stop_at) if stop_at else total
    try:
        while step < end:
            epoch, offset = divmod(step, steps_per_epoch)
            batches = _batches(rows, config.batch_size, config.seed, epoch)
            for batch in batches[offset:]:
                if step >= end:
                    break
                consistent = False
                nll, n = nll_sum(net, *_collate(torch, [rows[i] for i in batch], pad))
                loss = nll / max(n, 1)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(params, 1.0)
                optimizer.step()
                scheduler.step()
                step += 1
                state["step"] = step
                state["losses"].append(round(loss.item(), 5))
                consistent = True
                if step % config.checkpoint_every == 0 or step == end:
                    _save_checkpoint(torch, output, net, optimizer, scheduler, state, config.keep_checkpoints)
                report({"phase": "train", "step": step, "total": total, "loss": state["losses"][-1]})
    except KeyboardInterrupt:
        if consistent and step and not (output / "checkpoints" / f"step-{step:06d}").is_dir():
            _save_checkpoint(torch, output, net, optimizer, scheduler, state, config.keep_checkpoints)
        raise

    report({"phase": "eval_after", "step": step, "total": total})
    net.eval()
    result = TrainResult(
        adapter=output / "adapter", steps=step, examples=len(rows), skipped=skipped, resumed_from=resumed_from,
        seconds=time.perf_counter() - started, ppl_before=state["ppl_before"],
        ppl_after={k: evaluate(net, tok, r, config.eval_batch_size) for k, r in eval_rows.items()},
        losses=state["losses"],
    )
    save_adapter(net, result.adapter, config, model_path, meta={
        **(meta or {}), "steps": step, "examples": len(rows), "ppl_before": result.ppl_before,
        "ppl_after": result.ppl_after,
    })
    return result


def save_adapter(net, target: Path, config: TrainConfig, model_path: Path, meta: dict) -> None:
    """The peft adapter folder (float16 weights when ``config.half``) plus ``townsquare.json``."""
    import torch
    from safetensors.torch import load_file, save_file

    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    net.save_pretrained(partial)
    (partial / "README.md").unlink(missing_ok=True)  # peft's empty model-card template; townsquare.json says it all
    cfg_file = partial / "adapter_config.json"
    cfg = json.loads(cfg_file.read_text())
    cfg["base_model_name_or_path"] = model_path.name  # not a local path: the folder travels
    cfg_file.write_text(json.dumps(cfg, indent=2, sort_keys=True))
    if config.half:
        weights = partial / "adapter_model.safetensors"
        save_file({k: v.to(torch.float16).contiguous() for k, v in load_file(weights).items()}, weights)
    info = {"prompt_format": FORMAT_VERSION, "base_model": model_path.name,
            "architecture": (net.get_base_model().config.architectures or [""])[0],
            "config": config.fingerprint_fields(), **meta}
    (partial / "townsquare.json").write_text(json.dumps(info, indent=1, ensure_ascii=False))
    for f in partial.iterdir():
        f.chmod(0o644)  # safetensors writes 0600; an adapter is shipped and shared
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)
