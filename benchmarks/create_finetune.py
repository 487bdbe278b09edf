"""Fine-tuning benchmark: LoRA epoch time, perplexity base vs fine-tuned, llama.cpp vs transformers agreement.

    .venv/bin/python benchmarks/create_finetune.py [--datasets ../shared/datasets] [--texts 400] [--threads 2]

1. epoch: one LoRA epoch (rank 8, batch 8, <= 128 tokens) over 1,000 TweetEval train posts prepared by
   ``prepare_posts`` (brief -> post pairs, no plain copies) on the packaged Gemma 3 270M; ``--epoch-steps N``
   times N steps and extrapolates to the epoch (``--epoch-steps 0`` runs the whole epoch).
2. perplexity: the transformers backend's ``score`` (what ``townsquare lm perplexity`` runs), base model vs the
   shipped adapter, on held-out texts the adapter never saw: TweetEval *validation* tweets not in any train
   split (en) and LCCC *valid* utterances (zh, spaces removed). Raw text, each scored from its start.
3. agreement: next-token distributions of transformers + peft adapter vs llama.cpp (Q4_K_M) + GGUF LoRA on the
   same token ids, over prompts in the create format (briefs and posts from held-out data): top-1 agreement,
   mean and max KL(transformers || llama.cpp), base and adapted.
4. speed: llama.cpp greedy tokens/s (64 new tokens, prompt included), with and without the adapter.

Measured on the 2-core development machine (x86-64, shared with other jobs: load average 1.8-3.5), torch 2.13
CPU, llama-cpp-python 0.3.36, threads 2; shipped adapter = LoRA rank 8 on all 7 projections, 650 steps x 8
examples (6,889 pairs, stopped at step 650 of an 862-step schedule for the time budget), see its townsquare.json:

    epoch over 1,000 posts (125 steps of 8): 7.3 min (3.48 s/step, 13 timed steps, extrapolated)
      (prepare_posts on 1,400 sampled tweets: 19 wrong language, 8 too long once cleaned)
    perplexity (held out)        base     fine-tuned   ratio    scoring time (transformers, per model)
      en: 300 TweetEval val     194.12      83.18      0.428    68-72 s for 7,117 tokens (~100 tok/s)
      zh: 300 LCCC valid       1192.04     326.09      0.274    40-45 s for 2,526 tokens
    target: fine-tuned <= 70% of base on held-out tweets -> met (42.8%)
    agreement, transformers vs llama.cpp, 24 create-format prompts (12 prompts + 12 part-answered):
                                top-1 agreement   mean KL   max KL
      base (no adapter)              1.000         0.0064    0.0165
      shipped adapter                0.917         0.0061    0.0136   (2 near-ties: KL stays as small as base)
    llama.cpp greedy tokens/s (64 new tokens):  base 29.6, with the GGUF LoRA 16.8

The LoRA costs llama.cpp ~43% of its speed on this small model: the adapter's matrices run as extra matmuls
per projection, unmerged, and llama.cpp cannot use its repacked CPU kernels for them ("cannot use buft
CPU_REPACK"). Merging the adapter into the base and re-quantising would remove that cost (not done here).
Cross-check: `townsquare lm perplexity` on 100 held-out tweets gives 80.74 with --backend llamacpp (GGUF LoRA,
Q4_K_M base) and 80.67 with transformers (peft), in 28 s and 43 s wall time including loading.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def epoch_time(root: Path, steps: int) -> dict:
    import torch
    from peft import LoraConfig, get_peft_model

    from townsquare.create.finetune.corpora import read_tweeteval
    from townsquare.create.finetune.data import PrepareOptions, prepare_posts
    from townsquare.create.finetune.train import (
        TrainConfig,
        _batches,
        _collate,
        encode_pairs,
        load_model,
        nll_sum,
        resolve_model,
    )

    tweets = random.Random(0).sample([t for t in read_tweeteval(root, "train") if not t.flagged], 1400)
    data = prepare_posts([{"text": t.text} for t in tweets], PrepareOptions(langs=("en",), plain=False))
    pairs = data.pairs[:1000]
    config = TrainConfig(batch_size=8)
    model, tok = load_model(resolve_model(None))
    rows, _ = encode_pairs(tok, pairs, config.max_tokens)
    net = get_peft_model(model, LoraConfig(r=config.rank, lora_alpha=config.alpha, task_type="CAUSAL_LM",
                                           target_modules=list(config.target_modules)))
    params = [p for p in net.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=config.learning_rate)
    batches = _batches(rows, config.batch_size, 0, 0)
    timed = batches if steps <= 0 else batches[: steps + 1]
    durations = []
    for batch in timed:
        start = time.perf_counter()
        nll, n = nll_sum(net, *_collate(torch, [rows[i] for i in batch], tok.pad_token_id))
        (nll / n).backward()
        opt.step()
        opt.zero_grad()
        durations.append(time.perf_counter() - start)
    per_step = statistics.mean(durations[1:] if len(durations) > 1 else durations)  # first step warms up
    return {"posts": len(pairs), "steps": len(batches), "timed_steps": len(durations),
            "s_per_step": round(per_step, 2), "epoch_min": round(per_step * len(batches) / 60, 1),
            "dropped": data.report.as_dict()["dropped"]}


def perplexities(root: Path, n: int) -> dict:
    from townsquare.create.finetune.corpora import heldout_texts
    from townsquare.create.finetune.perplexity import load_scorer, perplexity

    out = {}
    sets = {"en": heldout_texts(root, "en", n, seed=11), "zh": heldout_texts(root, "zh", n, seed=11)}
    for adapter in ("none", "shipped"):
        scorer = load_scorer(adapter)
        for lang, texts in sets.items():
            start = time.perf_counter()
            result = perplexity(texts, scorer)
            out[f"{lang}_{adapter}"] = {"perplexity": round(result.perplexity, 2), "tokens": result.tokens,
                                        "seconds": round(time.perf_counter() - start, 1)}
    for lang in sets:
        out[f"{lang}_ratio"] = round(out[f"{lang}_shipped"]["perplexity"] / out[f"{lang}_none"]["perplexity"], 3)
    return out


def agreement_prompts(root: Path, n: int) -> list[str]:
    from townsquare.create.finetune.corpora import Mix, build_corpus_pairs

    pairs = [p for p in build_corpus_pairs(root, "valid", mix=Mix(0, 40, 20, 20, 0, 20), seed=5) if p.prompt]
    random.Random(1).shuffle(pairs)
    # The prompt alone, and the prompt with the first words of the answer: both places generation samples from.
    prompts = []
    for p in pairs[: n // 2]:
        prompts += [p.prompt, p.prompt + p.completion[: max(2, len(p.completion) // 3)]]
    return prompts


def agreement(root: Path, n: int, threads: int) -> dict:
    import numpy as np
    import torch
    from peft import PeftModel

    from townsquare.create.finetune.shipped import shipped_adapter
    from townsquare.create.finetune.train import load_model, resolve_model
    from townsquare.models.llm.llamacpp import load_llama
    from townsquare.models.llm.packaged import packaged_gguf

    prompts = agreement_prompts(root, n)
    model, _ = load_model(resolve_model(None))
    tuned = PeftModel.from_pretrained(model, str(shipped_adapter("peft"))).eval()
    kwargs = dict(model_path=str(packaged_gguf()), n_ctx=512, n_threads=threads, logits_all=True, verbose=False)
    llms = {"base": load_llama(**kwargs), "adapter": load_llama(**kwargs, lora_path=str(shipped_adapter("gguf")))}
    stats = {k: {"top1": 0, "kl": []} for k in llms}
    for prompt in prompts:
        ids = llms["base"].tokenize(prompt.encode(), add_bos=True, special=False)
        with torch.inference_mode():
            x = torch.tensor([ids])
            hf = {"adapter": tuned(input_ids=x).logits[0, -1].double().log_softmax(-1).numpy()}
            with tuned.disable_adapter():
                hf["base"] = tuned(input_ids=x).logits[0, -1].double().log_softmax(-1).numpy()
        for kind, llm in llms.items():
            llm.reset()
            llm.eval(ids)
            logits = np.asarray(llm.scores[len(ids) - 1], dtype=np.float64)
            cpp = logits - np.logaddexp.reduce(logits)
            stats[kind]["top1"] += int(hf[kind].argmax() == cpp.argmax())
            stats[kind]["kl"].append(float(np.sum(np.exp(hf[kind]) * (hf[kind] - cpp))))
    return {kind: {"prompts": len(prompts), "top1_agreement": round(s["top1"] / len(prompts), 3),
                   "mean_kl": round(statistics.mean(s["kl"]), 4), "max_kl": round(max(s["kl"]), 4)}
            for kind, s in stats.items()}


def llamacpp_speed(threads: int, runs: int = 3) -> dict:
    from townsquare.create.finetune.prompt import build_prompt
    from townsquare.create.finetune.shipped import shipped_adapter
    from townsquare.models.llm.llamacpp import LlamaCppGenerator

    out = {}
    for kind, lora in (("base", None), ("adapter", shipped_adapter("gguf"))):
        gen = LlamaCppGenerator(lora_path=lora, threads=threads)
        rates = []
        for i in range(runs + 1):
            prompt = build_prompt("post", f"weekend sale {i}, free shipping, new colours", "en", "x", hashtags=True)
            start = time.perf_counter()
            g = gen.generate([prompt], max_tokens=64, temperature=0)[0][0]
            if i:  # the first run warms up
                rates.append(g.tokens / (time.perf_counter() - start))
        out[kind] = round(statistics.median(rates), 1)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", default=None)
    parser.add_argument("--texts", type=int, default=400, help="held-out texts per language")
    parser.add_argument("--prompts", type=int, default=24)
    parser.add_argument("--epoch-steps", type=int, default=12, help="steps to time (0: the whole epoch)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--only", default="epoch,perplexity,agreement,speed")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    from townsquare.create.finetune.corpora import datasets_root

    root = datasets_root(args.datasets)
    parts = args.only.split(",")
    results = {"load_average": os.getloadavg()[0]}
    if "epoch" in parts:
        results["epoch"] = epoch_time(root, args.epoch_steps)
        print(json.dumps({"epoch": results["epoch"]}), flush=True)
    if "perplexity" in parts:
        results["perplexity"] = perplexities(root, args.texts)
        print(json.dumps({"perplexity": results["perplexity"]}), flush=True)
    if "agreement" in parts:
        results["agreement"] = agreement(root, args.prompts, args.threads)
        print(json.dumps({"agreement": results["agreement"]}), flush=True)
    if "speed" in parts:
        results["llamacpp_tokens_per_s"] = llamacpp_speed(args.threads)
    results["load_average_end"] = os.getloadavg()[0]
    print(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
