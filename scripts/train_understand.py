"""Train the understand heads shipped in src/townsquare/assets/understand/ from the public data.

    .venv/bin/python scripts/train_understand.py --data ../shared/datasets \
        --out src/townsquare/assets/understand --cache var/understand-cache

Splits: see `townsquare.understand.data` (the official test splits are not used; every
reported number is on our validation splits, never seen in training or model selection).

Each head is a two-level stack, exported as one linear model:
1. hashed n-gram logistic regression (word 1-2-grams + char 2-4-grams, liblinear, one-vs-rest),
   scored out-of-fold (3 folds) on the training set;
2. logistic regression on [USE embedding (512) | the n-gram scores], balanced class weights
   (the macro metrics weigh every class equally).
Because both levels are linear, the stack collapses to ``emb @ W + sum(hashed weights) + b``;
hashed weights are pruned to the ``--keep`` buckets with the largest weight norm.

Takes about 10-15 minutes on 2 cores (embedding ~115k texts is ~4 minutes of that; with
``--cache`` a rerun skips it).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score, recall_score
from sklearn.model_selection import StratifiedKFold
from sklearn.multiclass import OneVsRestClassifier

from townsquare.models.embedder import get_embedder
from townsquare.models.heads import Head
from townsquare.understand import data
from townsquare.understand.features import N_BUCKETS, clean, hashed_ngrams

TASKS = {  # head name -> (labels, kind, metric)
    "sentiment": (["negative", "neutral", "positive"], "softmax", "macro_recall"),
    "emotion": (["anger", "joy", "optimism", "sadness"], "softmax", "macro_f1"),
    "offensive": (["not_offensive", "offensive"], "sigmoid", "macro_f1"),
    "hate": (["not_hate", "hate"], "sigmoid", "macro_f1"),
    "irony": (["not_irony", "irony"], "sigmoid", "f1_positive"),
    "crisis_informative": (["not_informative", "informative"], "sigmoid", "macro_f1"),
    "sentiment_zh": (["negative", "positive"], "sigmoid", "accuracy"),
}


def score(metric: str, y: np.ndarray, pred: np.ndarray) -> float:
    if metric == "macro_recall":
        return float(recall_score(y, pred, average="macro"))
    if metric == "macro_f1":
        return float(f1_score(y, pred, average="macro"))
    if metric == "f1_positive":
        return float(f1_score(y, pred, pos_label=1))
    return float(accuracy_score(y, pred))


def load_splits(root: Path) -> dict[str, tuple[data.Split, data.Split]]:
    splits = {"sentiment": data.sentiment_en(root)}
    for task in data.TWEETEVAL_TASKS:
        splits[task] = (data.tweeteval(root, task, "train"), data.tweeteval(root, task, "val"))
    splits["crisis_informative"] = data.crisis(root)
    splits["sentiment_zh"] = (data.chnsenticorp(root, "train"), data.chnsenticorp(root, "dev"))
    return splits


def embed(texts: list[str], embedder, cache: Path | None) -> np.ndarray:
    cleaned = [clean(t) for t in texts]
    path = None
    if cache:
        key = hashlib.sha1((embedder.name + "\n" + "\n".join(cleaned)).encode()).hexdigest()[:16]
        path = cache / f"{key}.npy"
        if path.exists():
            return np.load(path)
    emb = embedder.embed(cleaned)
    if path:
        cache.mkdir(parents=True, exist_ok=True)
        np.save(path, emb)
    return emb


def ngram_matrix(texts: list[str]) -> sp.csr_matrix:
    indptr, indices = hashed_ngrams([clean(t) for t in texts])
    values = np.ones(len(indices), dtype=np.float64)
    return sp.csr_matrix((values, indices, indptr), shape=(len(texts), N_BUCKETS))


def _ngram_model(x: sp.csr_matrix, y: np.ndarray, c: float):
    lr = LogisticRegression(C=c, solver="liblinear", max_iter=1000, class_weight="balanced")
    model = OneVsRestClassifier(lr) if len(np.unique(y)) > 2 else lr
    return model.fit(x, y)


def _ngram_weights(model) -> tuple[np.ndarray, np.ndarray]:
    """(N_BUCKETS, k) weights and (k,) bias of the n-gram model's decision function."""
    if isinstance(model, OneVsRestClassifier):
        est = model.estimators_
        return (np.stack([e.coef_[0] for e in est], axis=1),
                np.array([e.intercept_[0] for e in est]))
    return model.coef_[0][:, None], model.intercept_


def train_head(name: str, train: tuple[np.ndarray, sp.csr_matrix, np.ndarray],
               ngram_c: float, c: float, keep: int) -> Head:
    labels, kind, metric = TASKS[name]
    emb, grams, y = train
    n_out = 1 if kind == "sigmoid" else len(labels)
    oof = np.zeros((len(y), n_out))
    for a, b in StratifiedKFold(3, shuffle=True, random_state=0).split(emb, y):
        u, ub = _ngram_weights(_ngram_model(grams[a], y[a], ngram_c))
        oof[b] = grams[b] @ u + ub
    u, ub = _ngram_weights(_ngram_model(grams, y, ngram_c))
    top = LogisticRegression(C=c, max_iter=5000, class_weight="balanced")
    top.fit(np.hstack([emb, oof]), y)
    coef, bias = top.coef_.T, top.intercept_  # (512 + n_out, k), (k,)
    w_emb, v = coef[:512], coef[512:]
    hashed = u @ v  # (N_BUCKETS, k): n-gram weights folded through the top model
    norms = np.abs(hashed).max(axis=1)
    ids = np.sort(np.argsort(norms)[-keep:])
    ids = ids[norms[ids] > 0]
    head = Head(name, labels, kind, [(w_emb.astype(np.float32), (bias + ub @ v).astype(np.float32))],
                hash_ids=ids, hash_w=hashed[ids].astype(np.float32))
    head.meta = {"metric": metric, "ngram_C": ngram_c, "C": c, "hashed_buckets_kept": int(len(ids)),
                 "class_weight": "balanced", "embedder": "use"}
    return head


def predict_labels(head: Head, emb: np.ndarray, ngrams) -> np.ndarray:
    p = head.predict_proba(emb, ngrams)
    return (p >= head.threshold).astype(int) if head.kind == "sigmoid" else p.argmax(axis=1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=Path("../shared/datasets"))
    ap.add_argument("--out", type=Path, default=Path("src/townsquare/assets/understand"))
    ap.add_argument("--cache", type=Path, default=None, help="folder to keep embeddings between runs")
    ap.add_argument("--keep", type=int, default=20_000, help="hashed n-gram buckets kept per head")
    ap.add_argument("--only", nargs="*", default=None, help="train only these heads")
    args = ap.parse_args()

    embedder = get_embedder("use")
    report = {}
    for name, (train, val) in load_splits(args.data).items():
        if args.only and name not in args.only:
            continue
        t0 = time.perf_counter()
        tr = (embed(train.texts, embedder, args.cache), ngram_matrix(train.texts), train.labels)
        va_emb = embed(val.texts, embedder, args.cache)
        head = train_head(name, tr, ngram_c=0.1, c=1.0, keep=args.keep)
        va_ngrams = hashed_ngrams([clean(t) for t in val.texts])
        value = score(head.meta["metric"], val.labels, predict_labels(head, va_emb, va_ngrams))
        head.meta.update({"validation": {"metric": head.meta["metric"], "value": round(value, 4),
                                         "n": len(val.texts)}, "n_train": len(train.texts)})
        head.save(args.out / name)
        report[name] = round(value, 4)
        print(f"{name}: {head.meta['metric']} {value:.4f} on {len(val.texts)} validation posts "
              f"({len(train.texts)} train, {time.perf_counter() - t0:.0f} s)", flush=True)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
