"""Build the create adapter that ships in src/townsquare/assets/create/adapter.

LoRA (rank 8, all attention and MLP projections) on the packaged Gemma 3 270M, trained on instruction pairs and
plain texts drawn from the train parts of TweetEval, LCCC and Bitext (see townsquare.create.finetune.corpora),
validated on their validation parts. Test splits are never read.

    .venv/bin/python scripts/build_create_adapter.py [--datasets ../shared/datasets] [--work var/create-adapter]

Interrupt it at any time (Ctrl-C, kill, a reboot) and run the same command again: it resumes from the newest
checkpoint in --work. At the end the adapter is copied into the package (unless --no-install), with its
perplexities before/after in townsquare.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", default=None, help="folder with tweeteval/, lccc_toy/, bitext_customer_support/")
    parser.add_argument("--work", default=str(ROOT / "var" / "create-adapter"), help="run folder (checkpoints)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--max-steps", type=int, default=None, help="shorten the schedule (a new run)")
    parser.add_argument("--stop-at", type=int, default=None, help="finish at this step (resumable; a time budget)")
    parser.add_argument("--eval-texts", type=int, default=200, help="held-out texts per language for perplexity")
    parser.add_argument("--no-install", action="store_true", help="do not copy the adapter into the package")
    args = parser.parse_args()

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    torch.set_num_threads(args.threads)
    from townsquare.create.finetune.corpora import Mix, build_corpus_pairs, heldout_texts
    from townsquare.create.finetune.shipped import ADAPTER_DIR
    from townsquare.create.finetune.train import TrainConfig, train

    started = time.perf_counter()
    pairs = build_corpus_pairs(args.datasets, "train")
    valid = build_corpus_pairs(args.datasets, "valid", mix=Mix(60, 60, 30, 30, 20, 20), seed=1)
    evals = {"en_heldout": heldout_texts(args.datasets, "en", args.eval_texts, seed=7),
             "zh_heldout": heldout_texts(args.datasets, "zh", args.eval_texts, seed=7)}
    print(f"{len(pairs)} training pairs, {len(valid)} validation pairs", flush=True)
    config = TrainConfig(rank=8, alpha=16, learning_rate=3e-4, warmup_steps=30, batch_size=8, max_tokens=128,
                         epochs=1.0, max_steps=args.max_steps, checkpoint_every=25, seed=0)
    last = [time.perf_counter()]

    def progress(event: dict) -> None:
        if event["phase"] != "train":
            print(f"[{time.strftime('%H:%M:%S')}] {event['phase']}", flush=True)
        elif event["step"] % 10 == 0 or event["step"] == event["total"]:
            now = time.perf_counter()
            print(f"[{time.strftime('%H:%M:%S')}] step {event['step']}/{event['total']} loss {event['loss']:.3f} "
                  f"({(now - last[0]) / 10:.2f} s/step)", flush=True)
            last[0] = now

    mix = Mix()
    result = train(pairs, args.work, valid=valid, eval_texts=evals, config=config, progress=progress,
                   stop_at=args.stop_at,
                   meta={"data": {"train_pairs": len(pairs), "valid_pairs": len(valid),
                                  "mix": mix.__dict__, "heldout_texts_per_language": args.eval_texts,
                                  "sources": "TweetEval train, LCCC toy train, Bitext (95% by hash)"}})
    summary = {"steps": result.steps, "examples": result.examples, "resumed_from": result.resumed_from,
               "minutes": round((time.perf_counter() - started) / 60, 1),
               "ppl_before": result.ppl_before, "ppl_after": result.ppl_after}
    print(json.dumps(summary, indent=1), flush=True)
    if not args.no_install:
        shutil.rmtree(ADAPTER_DIR, ignore_errors=True)
        shutil.copytree(result.adapter, ADAPTER_DIR)
        print(f"installed the adapter in {ADAPTER_DIR}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
