"""Create benchmark: what the writer produces from held-out briefs, and how fast.

    .venv/bin/python benchmarks/create.py [--briefs 15] [--n 5] [--skip-transformers]

1. speed, one stream, the packaged Gemma 3 270M with the shipped adapter on the same prompt: llama.cpp vs
   transformers tokens/s (64 greedy tokens) and time to first token; then the wall time of a whole request —
   5 candidates for a tweet, gated and ranked (`write()`), median over the briefs.
2. quality on held-out data the adapter never saw: briefs derived (keywords, hashtags) from TweetEval *validation*
   tweets (en, platform x) and LCCC *valid* utterances (zh, platform weibo); per language: share of candidates
   that pass every gate, share in the requested language, share within the limit, distinct-1/2 over all
   candidates (words for en, characters for zh), and the rejection reasons by kind.
Perplexity base vs fine-tuned and the LoRA epoch time are in benchmarks/create_finetune.py.

Measured 2026-12-06 on the 2-core development machine (AMD EPYC KVM guest, AVX2), quiet (load average ~1),
adapter = shipped (650 steps), --briefs 15 --skip-transformers:

    speed, one stream (same prompt, greedy, 64 tokens; decoding rate after the first token):
      llama.cpp Q4_K_M + GGUF LoRA, full vocabulary          35.6 tokens/s, first token 0.08 s
      llama.cpp, trimmed vocabulary (what the writer uses)   66.3 tokens/s, first token 0.07 s   (target >= 50: met)
      (with two decode threads instead of one: 23 and 28 tokens/s; 2026-11-29, before any of this: 23.3 tokens/s;
      transformers fp32 + peft: 6.5 tokens/s)
    5 candidates for a tweet (8 sampled together, gated, best 5 ranked): median 1.4 s (target < 3 s: met;
      9.3 s when candidates were decoded one after another with the full vocabulary); Weibo 0.9 s.
      (1.9 s and 50.6 tokens/s with two decode threads while other jobs kept the machine at load ~3.5.)
    held-out briefs, 15 x 5 candidates per language:
      en (x):     passed 93% · in English 93% · within 280 chars 100% · distinct-1 0.45 · distinct-2 0.81
                  rejections: language 5, duplicate 1
      zh (weibo): passed 99% · in Chinese 99% · within 140 chars 100% · distinct-1 0.29 · distinct-2 0.67
    target >= 90% in the requested language and within the limit: met for both (was 88% / 95% for en).
Re-measured 2026-12-07 (AMD EPYC, quiet): the adapter learnt Instagram's check-ins from the training tweets
("… @ Starbucks", or nothing but "@ Long Beach, California"), and a bare check-in passed every gate. With check-ins
stripped (`text.strip_checkin`), en fell to passed 60% · in English 61% · 1.2 s (26 of 75 candidates left empty:
bare check-ins or "@ User" placeholders); with a second sampling round when fewer than n pass, 81% · 83% · 2.6 s; with
the opening "@" masked too (`avoid_start`, what ships):
      en (x):     passed 95% · in English 99% · within 280 chars 100% · distinct-1 0.46 · distinct-2 0.89
                  rejections: toxicity 2, hashtags 1, language 1; request median 1.8 s
                  (again after the second round's seeds were fixed: passed 93%, in English 99%, toxicity 4,
                  language 1, 1.8 s)
      zh (weibo): passed 100% · in Chinese 100% · within 140 chars 100% · distinct-1 0.26 · distinct-2 0.64; 0.9 s
      decoding: 73.7 tokens/s trimmed vocabulary, 44.0 full (this hour's machine).

What moved the numbers: (0) one thread per decoded token (a token is ~300 small operations; on this VM waking the
second core for each cost more than it saved), both cores for prompts and batches; (1) the candidates of a prompt
decode together, one forward pass per step (models/llm/parallel.py); (2) the writer's copy of the model keeps 98.6k of Gemma's 262k tokens (models/llm/trim.py:
the output projection is most of a 270M model); (3) 1.6x oversampling, best n kept; (4) the "@user" placeholder of
the training tweets is never written (it made empty candidates); (5) an over-long post is cut at a clause or word
boundary instead of rejected.
Re-measured 2026-12-07 later (AMD EPYC with AVX-512), before and after the figures gate and hashtag trimming
(`create.gates.figures`, `trim_hashtags`), same hour:
      en (x):     passed 93% -> 95% · in English 99% · request median 1.9 -> 2.0 s; 15 briefs sampled a second
                  round 3 -> 1 times (hashtag rejections when none were asked 39 -> 4 of 120 candidates: the closing
                  run is now removed instead); facts rejections 4-6 of 120
      zh (weibo): passed 100% · 1.1 -> 1.0 s
      decoding: 80-106 tokens/s trimmed vocabulary (this hour's machine varied between runs).
Re-measured 2026-12-07 later (Intel Xeon), before and after the day-and-time check (`create.gates.when`):
      en (x):     passed 97% -> 97% · in English 100% · request median 2.5 -> 2.5 s (rejections: hashtags 1, toxicity 1)
      zh (weibo): passed 100% -> 100% · 1.4 -> 1.4 s
      decoding: 35.1-35.7 tokens/s trimmed vocabulary, 20.6-22.4 full (this machine; the target of 50 is met on the
      AMD EPYC above, not here).
    The held-out briefs (keywords of tweets) rarely name a time; on 14 brand briefs that do, 27 of 320 sampled
    candidates (19 distinct) had moved the day or the half of the day and passed every other check (see README, Create).
And with the negation check (`create.gates.negated`): en passed 97% · 2.4 s, zh 100% · 1.4 s (unchanged); on 21 brand
    briefs (7 with a negation), 23 of 440 sampled candidates (17 distinct) had flipped or lost a negation and passed every other
    check, one of them wrongly caught; their median request 3.5 -> 4.5 s.
And with a negation kept on its day (`create.gates.negated_moments`, 2026-12-07 later, Intel Xeon): on 8 briefs that
    negate a day (192 sampled candidates) 13 caught (9 distinct, 4 by no other check, none wrongly); none of 100 held-out
    briefs per language negates a day, so the held-out rows cannot move.
And with tidier text (2026-12-07 later, AMD EPYC; emoji selectors left without their emoji, stuttered HTML entities
    "&amp;amp;amp;...", repeated hashtags and check-ins at places with initials removed; made-up @handles rejected):
      en (x):     passed 95% -> 95% · in English 99% · distinct-1 0.45 -> 0.46 · request median 1.9 -> 1.9 s
      zh (weibo): passed 100% -> 100% · 0.9 -> 0.9 s
      decoding: 75.8 tokens/s trimmed vocabulary, 42.9-45.0 full (this machine).
    On 10 brand briefs x 3 seeds x 8 candidates (240): stray selectors 6 -> 0, HTML entities 1 -> 0, repeated hashtags
    2 -> 0, passed 225 -> 225; no candidate made up a handle in this sample (one did while we used the demo).
And with the apologetic tone needing an apology (`gates.REGRET_WORDS`): replies to 7 complaints (en/zh) with no brief,
    2 seeds x 5 candidates: passed 70 of 70 (7 with an apology) -> 17 of 70 (all 17 with one).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def _speed(prompt: str, skip_transformers: bool) -> None:
    from townsquare.create.finetune.shipped import shipped_adapter
    from townsquare.models.llm import get_generator
    from townsquare.models.llm.trim import trimmed_gguf

    gguf_lora = str(shipped_adapter("gguf"))
    rows = [("llama.cpp (Q4_K_M + GGUF LoRA)", "llamacpp", gguf_lora),
            ("llama.cpp, trimmed vocabulary (writer)", f"llamacpp:{trimmed_gguf()}", gguf_lora)]
    if not skip_transformers:
        rows.append(("transformers (fp32 + peft LoRA)", "transformers", str(shipped_adapter("peft"))))
    for label, spec, adapter in rows:
        gen = get_generator(spec, adapter=adapter)
        gen.generate([prompt], max_tokens=4, temperature=0)  # load and warm up
        ttft = []
        for _ in range(3):
            t0 = time.perf_counter()
            gen.generate([prompt], max_tokens=1, temperature=0)
            ttft.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        out = gen.generate([prompt], max_tokens=64, temperature=0, stop=[])[0][0]
        took = time.perf_counter() - t0
        decode = (out.tokens - 1) / max(took - statistics.median(ttft), 1e-6)  # after the first token
        print(f"  {label:<40} {decode:6.1f} tokens/s decoding ({out.tokens} tokens, {out.tokens / took:5.1f}/s with "
              f"the prompt), first token {statistics.median(ttft):.2f} s")


def _distinct(texts: list[str], lang: str, n: int) -> float:
    grams, total = set(), 0
    for t in texts:
        units = list(t.replace(" ", "")) if lang == "zh" else t.lower().split()
        g = [tuple(units[i:i + n]) for i in range(len(units) - n + 1)]
        grams.update(g)
        total += len(g)
    return len(grams) / total if total else 0.0


def _quality(lang: str, platform: str, briefs: int, n: int, analyzer) -> list[float]:
    from townsquare.create.finetune.corpora import heldout_texts
    from townsquare.create.finetune.data import BriefMaker
    from townsquare.create.writer import WriteRequest, write

    texts = heldout_texts(lang=lang, n=briefs * 3, seed=1)
    maker = BriefMaker(texts)
    cands, times, reasons = [], [], Counter()
    for i, text in enumerate(texts[:briefs]):
        brief, tags = maker.brief(text, lang, f"bench:{i}")
        t0 = time.perf_counter()
        res = write(WriteRequest(brief=brief, lang=lang, platform=platform, n=n, hashtags=tags, seed=i),
                    analyzer=analyzer)
        times.append(time.perf_counter() - t0)
        cands += res.candidates
        for c in res.candidates:
            reasons.update(r.split(":")[0] for r in c.reasons)
        if i < 2:
            print(f"    brief {brief!r} -> {res.candidates[0].text!r}")
    total = len(cands)
    passed = sum(c.passed for c in cands) / total
    in_lang = sum(c.analysis.get("lang") == lang for c in cands) / total
    limit = 280 if platform == "x" else 140
    within = sum(len(c.text) <= limit for c in cands) / total
    texts_out = [c.text for c in cands]
    print(f"  {lang} ({platform}, {briefs} briefs x {n}): passed {passed:.0%} · in {lang} {in_lang:.0%} · "
          f"within {limit} chars {within:.0%} · distinct-1 {_distinct(texts_out, lang, 1):.2f} · distinct-2 "
          f"{_distinct(texts_out, lang, 2):.2f} · request median {statistics.median(times):.1f} s")
    print(f"    rejections by kind: {dict(reasons.most_common())}")
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--briefs", type=int, default=15)
    ap.add_argument("--n", type=int, default=5)
    ap.add_argument("--skip-transformers", action="store_true")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    from townsquare.understand.batch import get_analyzer

    print(f"machine: {os.cpu_count()} cores, {os.uname().machine}; python {sys.version.split()[0]}")
    print("== speed, one stream ==")
    # A prompt the adapter continues for all 64 tokens: a post prompt ends after ~10, too few to time decoding.
    _speed("Chapter 1\n\nThe morning the oat latte came back,", args.skip_transformers)
    analyzer = get_analyzer()
    print("== quality on held-out briefs (llama.cpp + shipped adapter) ==")
    en = _quality("en", "x", args.briefs, args.n, analyzer)
    _quality("zh", "weibo", args.briefs, args.n, analyzer)
    print(f"  5 candidates for a tweet: median {statistics.median(en):.1f} s (target < 3 s)")


if __name__ == "__main__":
    main()
