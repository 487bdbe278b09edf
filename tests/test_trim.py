"""The writer's trimmed-vocabulary copy of the packaged model: same tokens for ordinary text, same greedy words."""

from __future__ import annotations

import numpy as np
import pytest

from townsquare.models.llm.trim import BYTE, CONTROL, NORMAL, closure

pytest.importorskip("llama_cpp")
pytest.importorskip("gguf")


def test_closure_keeps_every_piece_sentencepiece_merges_through():
    tokens = ["<pad>", "<unused0>", "<0x41>", "h", "e", "he", "hel", "hello", "l", "lo", "o", "x", "xyz", "yz"]
    types = np.array([CONTROL, CONTROL, BYTE] + [NORMAL] * 11)
    kept = {tokens[i] for i in closure(tokens, types, np.array([tokens.index("hello")]))}
    assert {"hello", "he", "hel", "lo", "<pad>", "<0x41>", "h", "x"} <= kept  # pieces, specials, bytes, characters
    assert "<unused0>" not in kept and "xyz" not in kept and "yz" not in kept  # unused and multi-char strangers go


@pytest.fixture(scope="module")
def models():
    from townsquare.models.llm.llamacpp import load_llama
    from townsquare.models.llm.packaged import packaged_gguf
    from townsquare.models.llm.trim import trimmed_gguf

    return (load_llama(model_path=str(packaged_gguf()), n_ctx=256, verbose=False),
            load_llama(model_path=str(trimmed_gguf()), n_ctx=256, verbose=False))


def test_trimmed_model_cuts_text_and_writes_like_the_full_one(models):
    full, trim = models
    assert trim.n_vocab() < full.n_vocab() * 0.5
    for text in ["Our oat latte is back on Monday! ☕ #OatLatte @acme", "我想咨询一下退货政策，谢谢！😊",
                 "### Task: write a post\n### Language: en"]:
        pieces = [[m.detokenize([t]) for t in m.tokenize(text.encode(), add_bos=False)] for m in (full, trim)]
        assert pieces[0] == pieces[1], text
    prompt = "The capital of France is"
    outs = [m.create_completion(prompt, max_tokens=8, temperature=0.0)["choices"][0]["text"] for m in (full, trim)]
    assert outs[0].split()[:4] == outs[1].split()[:4]
