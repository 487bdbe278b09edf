"""Train the shipped prompt-injection head: `src/townsquare/assets/respond/injection/`.

Data (nothing from a test split):
* the **dev** half of `benchmarks/data/injection_labelled.jsonl` (attacks and ordinary questions, EN/ZH/DE, written
  for this project) — the **test** half is never read here: `tests/test_safety.py` and `benchmarks/respond_kb.py`
  report on it;
* `benchmarks/data/injection_train_extra.jsonl`: more attack paraphrases and ordinary look-alikes ("ignore my last
  message", "are you a bot?", "my husband's account", "who founded the company?"), EN/ZH/DE, written for this project;
* as ordinary customer text: the demo knowledge base (intent utterances, answer templates, document chunks) and,
  when `../shared/datasets` is there, rows i % 4 == 0 of the BANKING77 and Bitext train files and the CLINC150 train
  split (the tests and the benchmark sample rows i % 4 == 2 and CLINC150 validation instead).

Model: logistic regression over the USE-multilingual embedding of `safety.head_text` (class-balanced). The threshold
comes from 5-fold out-of-fold probabilities over all of it: the lowest that refuses (patterns included) at most 1 %
of the dev half's ordinary questions and 0.1 % of the dataset questions, a margin under the 5 % target. The
hand-written look-alikes are harder than ordinary questions on purpose: they teach the head but do not set the
threshold. Documents are not checked by the head (see safety.py).

Run: ``HF_HUB_OFFLINE=1 OMP_NUM_THREADS=1 .venv/bin/python scripts/train_injection.py`` (~30 s on 2 cores)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "benchmarks" / "data" / "injection_labelled.jsonl"
EXTRA = ROOT / "benchmarks" / "data" / "injection_train_extra.jsonl"
DEMO_KB = ROOT / "src" / "townsquare" / "assets" / "respond" / "demo_kb"
MAX_DEV_BENIGN, MAX_DATASET_BENIGN = 0.01, 0.001
PER_DATASET = 1500


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def main() -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from respond_kb import customer_questions
    from townsquare.models import get_embedder
    from townsquare.models.heads import Head
    from townsquare.respond.chunking import chunk_document, embed_text
    from townsquare.respond.loaders import kb_files, load_file
    from townsquare.respond.safety import HEAD_DIR, head_text, match_patterns

    labelled = [r for r in _jsonl(DATA) if r["split"] == "dev"]
    dev = labelled + _jsonl(EXTRA)
    texts = [r["text"] for r in dev]
    groups = ["dev"] * len(labelled) + ["extra"] * (len(dev) - len(labelled))
    y = [int(r["label"] == "attack") for r in dev]
    kb_texts: list[str] = []
    for f, source in kb_files(DEMO_KB):
        for d in load_file(f, source):
            if d.kind == "intent":
                kb_texts += [t for ex in d.meta["examples"].values() for t in ex] + list(d.meta["answers"].values())
            else:
                kb_texts += [embed_text(d.title, c) for c in chunk_document(d.text)]
    datasets = [t for qs in customer_questions(part=0, n=PER_DATASET, seed=0).values() for t in qs]
    texts += kb_texts + datasets
    groups += ["kb"] * len(kb_texts) + ["datasets"] * len(datasets)
    y += [0] * (len(kb_texts) + len(datasets))
    y_arr, groups_arr = np.array(y), np.array(groups)
    x = get_embedder("use").embed([head_text(t) for t in texts])  # what the head reads at inference
    pattern_hit = np.array([bool(match_patterns(t)) for t in texts])

    def fit(xs, labels):
        return LogisticRegression(C=4.0, class_weight="balanced", max_iter=3000).fit(xs, labels)

    oof = np.zeros(len(texts))
    strata = y_arr * 4 + np.searchsorted(["datasets", "dev", "extra", "kb"], groups_arr)
    for tr, va in StratifiedKFold(5, shuffle=True, random_state=0).split(x, strata):
        oof[va] = fit(x[tr], y_arr[tr]).predict_proba(x[va])[:, 1]
    dev_benign = (groups_arr == "dev") & (y_arr == 0)
    data_benign, kb_benign = groups_arr == "datasets", groups_arr == "kb"
    attacks = y_arr == 1
    threshold = 0.95
    for t in np.arange(0.20, 0.96, 0.01):
        refused = pattern_hit | (oof >= t)
        if (refused[dev_benign].mean() <= MAX_DEV_BENIGN
                and (not data_benign.any() or refused[data_benign].mean() <= MAX_DATASET_BENIGN)):
            threshold = float(round(t, 2))
            break
    refused = pattern_hit | (oof >= threshold)
    if "--verbose" in sys.argv:  # the hardest ordinary texts and the attacks the head misses
        for i in np.argsort(-oof):
            if (y_arr[i] == 0 and oof[i] >= threshold - 0.3) or (y_arr[i] == 1 and not refused[i]):
                print(f"  {groups_arr[i]:8} y={y_arr[i]} oof={oof[i]:.2f} {texts[i][:100]!r}", file=sys.stderr)
    stats = {"attacks_refused": round(float(refused[attacks].mean()), 4),
             "dev_benign_refused": round(float(refused[dev_benign].mean()), 4),
             "lookalikes_refused": round(float(refused[(groups_arr == "extra") & (y_arr == 0)].mean()), 4),
             "kb_texts_refused": round(float(refused[kb_benign].mean()), 4),
             "dataset_questions_refused": round(float(refused[data_benign].mean()), 4) if data_benign.any() else None,
             "patterns_alone_attacks": round(float(pattern_hit[attacks].mean()), 4)}
    clf = fit(x, y_arr)
    head = Head("injection", ["benign", "attack"], "sigmoid",
                [(clf.coef_.T.astype(np.float32), clf.intercept_.astype(np.float32))], threshold=threshold,
                meta={"embedder": "use",
                      "trained_on": f"{DATA.relative_to(ROOT)} split=dev + {EXTRA.relative_to(ROOT)} "
                                    f"({len(dev)}), {len(kb_texts)} demo-KB texts and {len(datasets)} BANKING77/"
                                    "CLINC150/Bitext train questions as ordinary",
                      "out_of_fold": stats, "script": "scripts/train_injection.py"})
    head.save(HEAD_DIR)
    print(f"threshold {threshold:.2f}; out-of-fold {stats}; saved to {HEAD_DIR}", file=sys.stderr)


if __name__ == "__main__":
    main()
