"""Train the understand heads shipped in src/townsquare/assets/understand/ from the public data.

    .venv/bin/python scripts/train_understand.py --data ../shared/datasets \
        --out src/townsquare/assets/understand --cache var/understand-cache

Splits: see `townsquare.understand.data` (the official test splits are not used; every
reported number is on our validation splits, never seen in training or model selection).

Each head is a two-level stack, exported as one linear model:
1. one or two hashed n-gram logistic regressions (word 1-2-grams + char 2-4-grams, liblinear,
   one-vs-rest), plain or NB-LR style (binary features scaled by their naive-Bayes log-count
   ratio, which folds back into plain per-bucket weights), scored out-of-fold on the training set;
2. logistic regression on [USE embedding (512) | the n-gram scores | VADER's four scores, where
   cross-validation keeps them (``LEXICON_HEADS``)], balanced class weights (the macro metrics weigh
   every class equally).
Because both levels are linear, the stack collapses to ``emb @ W + sum(hashed weights) + vader @ V + b``;
the hashed weights are pruned to the buckets with the largest weight norm, per head (``KEEP``).
Keeping 20,000 regularises the four small TweetEval heads (3-12k posts): with every bucket they
measured 0.001-0.011 lower on validation. The three heads with more data keep every nonzero
bucket: 20,000 had cost them 0.011-0.021 (sentiment 0.703 -> 0.722 with the same configuration and
no rule offsets, crisis 0.779 -> 0.790, sentiment_zh on reviews alone 0.905 -> 0.917). Serving
costs the same either way: `HeadSet` holds a dense table of every bucket. sentiment_zh trains on
ChnSentiCorp, 10,000 English tweets, 65 Weibo emoticons and 243 social-media expressions
(`data.sentiment_zh_train`; dev 0.907, see README).

Model selection, per head and inside the training split only (`select`): the same 5 stratified
folds give out-of-fold n-gram scores for every n-gram variant in ``NGRAM_GRID`` and out-of-fold
logits of the top model for every C in ``TOP_C_GRID``; on those logits we also tune the
decision rule for the head's metric (sigmoid heads: a threshold; softmax heads: per-class
logit offsets) and keep the combination with the best cross-validated metric. The threshold
and offsets are folded into the exported bias, so ``p >= 0.5`` / argmax is the tuned rule.
Tried and not kept (2026-12-06): a third stacked block for sentiment, the out-of-fold logits of
an MLP on the embedding (512 hidden, 12 epochs; 0.675 alone in CV). Cross-validated 0.6983 ->
0.6975, so it stays out, though validation would have said 0.716 -> 0.725. Likewise (2026-12-07),
for sentiment: the encoder's 1,280-d pooled features before its sentence-level layers, stacked
beside the embedding (logistic regression alone 0.661 -> 0.686 on validation, but in the stack CV
0.6984 -> 0.6991); and those sentence-level layers fine-tuned on the tweets from the pooled
features (0.699 alone on validation, 0.671 in CV; stacked, CV 0.6994). And (2026-12-07) the other
TweetEval tasks' n-gram models (emotion, offensive, hate, irony, and emoji's 45,000 tweets, 20
classes; word/char n-gram LR fitted on those tasks' training tweets) scoring the sentiment tweets,
stacked as extra features (they would fold into the hashed weights, free to serve): CV 0.7016 with
none, 0.7016-0.7030 with one (emoji best), 0.7026 with all five; validation 0.719-0.729 against 0.727: noise.

Measured on the shared 2-core box, one thread per process, embeddings cached: ~24 min for the
six smaller heads (emotion 5.5, offensive 5, hate 3.5, irony 0.5, crisis 6.5, sentiment_zh 3) and
~36 min for sentiment (47k posts, smaller grid, run in parallel); embedding ~115k texts adds ~5
minutes once (``--cache`` keeps them). On the Intel Xeon of 2026-12-07, embedding included: 9 min
for the five English heads besides sentiment, 23 min for sentiment. ``--no-tune`` skips selection
and uses the old fixed hyper-parameters (one plain n-gram model, ngram_C=0.1, C=1.0, no rule
tuning, no VADER).
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

from townsquare.models.embedder import get_embedder
from townsquare.models.heads import Head
from townsquare.understand import data
from townsquare.understand.features import N_BUCKETS, clean, hashed_ngrams, lexicon_scores

TASKS = {  # head name -> (labels, kind, metric)
    "sentiment": (["negative", "neutral", "positive"], "softmax", "macro_recall"),
    "emotion": (["anger", "joy", "optimism", "sadness"], "softmax", "macro_f1"),
    "offensive": (["not_offensive", "offensive"], "sigmoid", "macro_f1"),
    "hate": (["not_hate", "hate"], "sigmoid", "macro_f1"),
    "irony": (["not_irony", "irony"], "sigmoid", "f1_positive"),
    "crisis_informative": (["not_informative", "informative"], "sigmoid", "macro_f1"),
    "sentiment_zh": (["negative", "positive"], "sigmoid", "accuracy"),
}
# n-gram level candidates: the (nb, C) n-gram models whose scores are stacked (one or two models)
NGRAM_GRID = (((False, 0.03),), ((False, 0.1),), ((False, 0.3),), ((True, 0.1),), ((True, 0.3),),
              ((True, 1.0),), ((False, 0.1), (True, 0.3)))
TOP_C_GRID = (0.1, 0.3, 1.0, 3.0)
# sentiment has 15x the data of the other English heads: a smaller grid keeps training time sane
SMALL_GRID = {"sentiment": ((((False, 0.1),), ((True, 0.3),), ((False, 0.1), (True, 0.3))), (0.3, 1.0))}
KEEP = {"emotion": 20_000, "offensive": 20_000, "hate": 20_000, "irony": 20_000}  # others: every bucket
FIXED = {"ngram_models": [(False, 0.1)], "C": 1.0}  # the untuned configuration (--no-tune)
N_FOLDS = 5
# the English heads may also stack VADER's four scores (`features.lexicon_scores`), kept when they
# raise the chosen configuration's CV metric by LEXICON_MARGIN (one standard error for sentiment's
# 47k posts; the small heads' CV is noisier, so a kept lexicon there may be luck)
LEXICON_HEADS = ("sentiment", "emotion", "offensive", "hate", "irony", "crisis_informative")
LEXICON_MARGIN = 0.002


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
    splits["sentiment_zh"] = (data.sentiment_zh_train(root), data.chnsenticorp(root, "dev"))
    return splits


def embed(texts: list[str], embedder, cache: Path | None, served: bool = False) -> np.ndarray:
    """Embeddings of the texts as trained on (``served``: as the analyzer reads them, `clean`)."""
    cleaned = [clean(t, join_cjk=served) for t in texts]
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
    indptr, indices = hashed_ngrams([clean(t, join_cjk=False) for t in texts])
    values = np.ones(len(indices), dtype=np.float64)
    return sp.csr_matrix((values, indices, indptr), shape=(len(texts), N_BUCKETS))


def fit_ngram(x: sp.csr_matrix, y: np.ndarray, n_out: int, c: float, nb: bool) -> tuple[np.ndarray, np.ndarray]:
    """(N_BUCKETS, n_out) weights and (n_out,) bias of the hashed n-gram LR (one-vs-rest if n_out > 1).

    With ``nb`` each binary problem sees its features scaled by the naive-Bayes log-count
    ratio r (Wang & Manning 2012); the fitted weights times r act on the raw binary features.
    """
    u, ub = np.zeros((x.shape[1], n_out)), np.zeros(n_out)
    for j in range(n_out):
        t = (y == (1 if n_out == 1 else j)).astype(int)
        r = None
        if nb:
            p = 1.0 + np.asarray(x[t == 1].sum(axis=0)).ravel()
            q = 1.0 + np.asarray(x[t == 0].sum(axis=0)).ravel()
            r = np.log(p / p.sum()) - np.log(q / q.sum())
        xs = x @ sp.diags(r) if nb else x
        lr = LogisticRegression(C=c, solver="liblinear", max_iter=1000, class_weight="balanced").fit(xs, t)
        u[:, j] = lr.coef_[0] * r if nb else lr.coef_[0]
        ub[j] = lr.intercept_[0]
    return u, ub


def _folds(y: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    return list(StratifiedKFold(N_FOLDS, shuffle=True, random_state=0).split(np.zeros(len(y)), y))


def oof_ngram(grams: sp.csr_matrix, y: np.ndarray, n_out: int, c: float, nb: bool) -> np.ndarray:
    """Out-of-fold n-gram scores (n, n_out): the top model must not see in-sample n-gram fits."""
    oof = np.zeros((len(y), n_out))
    for a, b in _folds(y):
        u, ub = fit_ngram(grams[a], y[a], n_out, c, nb)
        oof[b] = grams[b] @ u + ub
    return oof


def fit_top(x: np.ndarray, y: np.ndarray, c: float) -> LogisticRegression:
    return LogisticRegression(C=c, max_iter=5000, class_weight="balanced").fit(x, y)


def tune_rule(kind: str, metric: str, y: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, float]:
    """Logit offsets added to the bias (sigmoid: -threshold logit) that maximise the metric on z."""
    if kind == "sigmoid":
        best = (np.zeros(1), score(metric, y, (z[:, 0] >= 0).astype(int)))
        for p in np.arange(0.2, 0.801, 0.02):
            t = np.log(p / (1 - p))
            value = score(metric, y, (z[:, 0] >= t).astype(int))
            if value > best[1] + 1e-9:
                best = (np.array([-t]), value)
        return best
    off = np.zeros(z.shape[1])
    best_value = score(metric, y, z.argmax(axis=1))
    for _ in range(2):  # coordinate ascent; class 0 stays the reference
        for j in range(1, z.shape[1]):
            for s in np.arange(-2.0, 2.001, 0.1):
                trial = off.copy()
                trial[j] = s
                value = score(metric, y, (z + trial).argmax(axis=1))
                if value > best_value + 1e-9:
                    off, best_value = trial, value
    return off, best_value


def _logits(model: LogisticRegression, x: np.ndarray) -> np.ndarray:
    z = model.decision_function(x)
    return z[:, None] if z.ndim == 1 else z


def select(name: str, emb: np.ndarray, grams: sp.csr_matrix, y: np.ndarray,
           oofs: dict[tuple[bool, float], np.ndarray], lexicon: np.ndarray | None = None) -> dict:
    """Grid over n-gram models x top C, scored by stratified CV inside the training split; then the
    best configuration with ``lexicon`` (VADER's scores) stacked too, kept if it gains LEXICON_MARGIN.

    ``oofs`` is filled with the out-of-fold scores of every n-gram model (train_head reuses them).
    """
    labels, kind, metric = TASKS[name]
    n_out = 1 if kind == "sigmoid" else len(labels)
    ngram_grid, c_grid = SMALL_GRID.get(name, (NGRAM_GRID, TOP_C_GRID))
    folds = _folds(y)

    def cv(x: np.ndarray, c: float) -> dict:
        z = np.zeros((len(y), n_out))
        for a, b in folds:
            z[b] = _logits(fit_top(x[a], y[a], c), x[b])
        off, value = tune_rule(kind, metric, y, z)
        return {"C": c, "offsets": off.round(3).tolist(), "cv_untuned": round(score(metric, y, _predict(kind, z)), 4),
                "cv": round(value, 4)}

    results = []
    for models in ngram_grid:
        for m in models:
            if m not in oofs:
                oofs[m] = oof_ngram(grams, y, n_out, m[1], m[0])
        x = np.hstack([emb, *(oofs[m] for m in models)])
        for c in c_grid:
            results.append({"ngram_models": [list(m) for m in models], **cv(x, c)})
            print(f"  {name} ngram (nb, C) {models} top C={c}: cv {results[-1]['cv_untuned']:.4f} "
                  f"-> {results[-1]['cv']:.4f} with rule {results[-1]['offsets']}", flush=True)
    best = max(results, key=lambda r: r["cv"]) | {"grid": len(results), "lexicon": False,
                                                  "grid_spec": [[list(m) for m in ms] for ms in ngram_grid],
                                                  "c_grid": list(c_grid)}
    if lexicon is not None:
        x = np.hstack([emb, *(oofs[tuple(m)] for m in best["ngram_models"]), lexicon])
        with_lexicon = cv(x, best["C"])
        print(f"  {name} with VADER: cv {with_lexicon['cv']:.4f} (without {best['cv']:.4f})", flush=True)
        best["cv_lexicon"] = with_lexicon["cv"]
        if with_lexicon["cv"] >= best["cv"] + LEXICON_MARGIN:
            best |= with_lexicon | {"lexicon": True, "cv_without_lexicon": best["cv"]}
    return best


def _predict(kind: str, z: np.ndarray) -> np.ndarray:
    return (z[:, 0] >= 0).astype(int) if kind == "sigmoid" else z.argmax(axis=1)


def train_head(name: str, train: tuple[np.ndarray, sp.csr_matrix, np.ndarray], cfg: dict, keep: int,
               oofs: dict[tuple[bool, float], np.ndarray] | None = None, lexicon: np.ndarray | None = None) -> Head:
    """Fit the chosen configuration on the whole training split and export it as one Head
    (``lexicon``: the training posts' VADER scores, used if ``cfg["lexicon"]``)."""
    labels, kind, metric = TASKS[name]
    emb, grams, y = train
    n_out = 1 if kind == "sigmoid" else len(labels)
    oofs = {} if oofs is None else oofs
    scores, us, ubs = [], [], []
    for nb, ngram_c in cfg["ngram_models"]:
        if (nb, ngram_c) not in oofs:
            oofs[(nb, ngram_c)] = oof_ngram(grams, y, n_out, ngram_c, nb)
        scores.append(oofs[(nb, ngram_c)])
        u, ub = fit_ngram(grams, y, n_out, ngram_c, nb)
        us.append(u)
        ubs.append(ub)
    u, ub = np.hstack(us), np.concatenate(ubs)  # (N_BUCKETS, n_out * models), (n_out * models,)
    lex = [lexicon] if cfg.get("lexicon") else []
    top = fit_top(np.hstack([emb, *scores, *lex]), y, cfg["C"])
    coef = top.coef_.T  # (512 + n_out * models [+ 4], k)
    w_emb, v = coef[:512], coef[512:512 + u.shape[1]]
    lex_w = coef[512 + u.shape[1]:].astype(np.float32) if lex else None
    bias = top.intercept_ + ub @ v + np.asarray(cfg.get("offsets", np.zeros(n_out)))
    hashed = u @ v  # (N_BUCKETS, k): n-gram weights folded through the top model
    norms = np.abs(hashed).max(axis=1)
    ids = np.sort(np.argsort(norms)[-keep:])
    ids = ids[norms[ids] > 0]
    head = Head(name, labels, kind, [(w_emb.astype(np.float32), bias.astype(np.float32))],
                hash_ids=ids, hash_w=hashed[ids].astype(np.float32), lex_w=lex_w,
                lex_mean=lexicon.mean(axis=0).astype(np.float32) if lex else None)
    head.meta = {"metric": metric, "ngram_models_nb_C": [list(m) for m in cfg["ngram_models"]], "C": cfg["C"],
                 "hashed_buckets_kept": int(len(ids)), "class_weight": "balanced", "embedder": "use",
                 "lexicon": "vader" if lex else None}
    return head


def predict_labels(head: Head, emb: np.ndarray, ngrams, lexicon: np.ndarray | None = None) -> np.ndarray:
    p = head.predict_proba(emb, ngrams, lexicon)
    return (p >= head.threshold).astype(int) if head.kind == "sigmoid" else p.argmax(axis=1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=Path("../shared/datasets"))
    ap.add_argument("--out", type=Path, default=Path("src/townsquare/assets/understand"))
    ap.add_argument("--cache", type=Path, default=None, help="folder to keep embeddings between runs")
    ap.add_argument("--keep", type=int, default=None, help="hashed n-gram buckets kept per head (default: KEEP)")
    ap.add_argument("--only", nargs="*", default=None, help="train only these heads")
    ap.add_argument("--no-tune", action="store_true", help="skip model selection; use the fixed configuration")
    args = ap.parse_args()

    embedder = get_embedder("use-fp32")  # the heads learn from exact float32 vectors; int8 serving is within cosine 0.9998
    report = {}
    for name, (train, val) in load_splits(args.data).items():
        if args.only and name not in args.only:
            continue
        t0 = time.perf_counter()
        tr = (embed(train.texts, embedder, args.cache), ngram_matrix(train.texts), train.labels)
        va_emb = embed(val.texts, embedder, args.cache, served=True)
        oofs: dict[tuple[bool, float], np.ndarray] = {}
        lexicon = lexicon_scores([clean(t, join_cjk=False) for t in train.texts]) \
            if name in LEXICON_HEADS and not args.no_tune else None
        cfg = dict(FIXED) if args.no_tune else select(name, *tr, oofs, lexicon)
        head = train_head(name, tr, cfg, keep=args.keep or KEEP.get(name, N_BUCKETS), oofs=oofs, lexicon=lexicon)
        if not args.no_tune:
            head.meta["selection"] = {
                "procedure": f"{N_FOLDS}-fold stratified CV (seed 0) inside the training split; grid: "
                             f"stacked n-gram models (nb, C) in {cfg['grid_spec']} x top C in {cfg['c_grid']}; "
                             "decision rule (sigmoid threshold / softmax class logit offsets) tuned on the "
                             "out-of-fold logits, best CV metric kept, rule folded into the bias",
                "cv_metric": cfg["cv"], "cv_untuned_rule": cfg["cv_untuned"], "logit_offsets": cfg["offsets"],
                "configs_tried": cfg["grid"], "cv_with_vader": cfg.get("cv_lexicon"),
                "cv_without_vader": cfg.get("cv_without_lexicon", cfg["cv"])}
        va_ngrams = hashed_ngrams([clean(t) for t in val.texts])
        va_lexicon = lexicon_scores([clean(t) for t in val.texts]) if head.lex_w is not None else None
        value = score(head.meta["metric"], val.labels, predict_labels(head, va_emb, va_ngrams, va_lexicon))
        head.meta.update({"validation": {"metric": head.meta["metric"], "value": round(value, 4),
                                         "n": len(val.texts)}, "n_train": len(train.texts),
                          "train_seconds": round(time.perf_counter() - t0)})
        head.save(args.out / name)
        report[name] = round(value, 4)
        print(f"{name}: {head.meta['metric']} {value:.4f} on {len(val.texts)} validation posts "
              f"({len(train.texts)} train, {time.perf_counter() - t0:.0f} s)", flush=True)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
