"""Build the token list of the trimmed generator (src/townsquare/assets/llm/kept_tokens.npy) and check it.

    .venv/bin/python scripts/build_vocab_subset.py [--datasets ../shared/datasets]

Tokenises the *train* parts of the corpora the shipped adapter learned from (TweetEval tweets, LCCC, Bitext
support dialogues, ChnSentiCorp reviews) plus every prompt the writer builds, with the packaged Gemma 3
tokenizer, and saves the ids it used. `townsquare.models.llm.trim` adds single characters, bytes, control tokens
and the substring closure when it builds the trimmed model. The check then tokenises *validation* texts the list
never saw with both models and counts texts cut differently.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def _texts(root: Path, split: str) -> list[str]:
    from townsquare.create.finetune.corpora import clean_tweet, read_bitext, read_lccc, read_tweeteval

    texts = []
    for t in read_tweeteval(root, "train" if split == "train" else "val"):
        texts += [t.text, clean_tweet(t.text)]
    pairs, utterances = read_lccc(root, "train" if split == "train" else "valid")
    texts += utterances
    if split == "train":
        texts += [x for pair in read_bitext(root) for x in pair]
    with (root / "chnsenticorp" / ("train.tsv" if split == "train" else "dev.tsv")).open(encoding="utf-8") as fh:
        texts += [row[-1] for row in csv.reader(fh, delimiter="\t")][1:]
    return texts


def _prompts() -> list[str]:
    from townsquare.create.finetune.prompt import LANGUAGES, PLATFORM_LIMITS, build_prompt

    out = []
    for lang in LANGUAGES:
        for platform, limit in PLATFORM_LIMITS.items():
            for tone in (None, "joy", "apologetic"):
                out.append(build_prompt("post", "oat latte back Monday 燕麦拿铁", lang, platform, max_chars=limit,
                                        hashtags=True, tone=tone, reply_to=None, voice="Acme support"))
                out.append(build_prompt("reply", "", lang, platform, max_chars=limit, hashtags=False, tone=tone,
                                        reply_to="where is my order? 我的订单呢", voice=None))
    return out


def main() -> int:
    from llama_cpp import Llama

    from townsquare.create.finetune.corpora import datasets_root
    from townsquare.models.llm.packaged import packaged_gguf
    from townsquare.models.llm.trim import kept_ids_path, trimmed_gguf

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", default=None)
    args = ap.parse_args()
    root = datasets_root(args.datasets)
    full = Llama(model_path=str(packaged_gguf()), vocab_only=True, verbose=False)
    started = time.perf_counter()
    texts = _texts(root, "train") + _prompts()
    ids = set()
    for text in texts:
        ids.update(full.tokenize(text.encode("utf-8"), add_bos=False, special=False))
    corpus = np.array(sorted(ids), dtype=np.int32)
    out = kept_ids_path()
    out.parent.mkdir(parents=True, exist_ok=True)
    np.save(out, corpus)
    print(f"{len(texts):,} training texts use {len(corpus):,} distinct tokens -> {out} "
          f"({time.perf_counter() - started:.0f} s)")

    trimmed = Llama(model_path=str(trimmed_gguf()), vocab_only=True, verbose=False)
    print(f"trimmed vocabulary: {trimmed.n_vocab():,} of {full.n_vocab():,} tokens")
    kept_text = {trimmed.detokenize([i]) for i in range(trimmed.n_vocab())}
    same = total = 0
    for text in _texts(root, "valid"):
        a = [full.detokenize([i]) for i in full.tokenize(text.encode("utf-8"), add_bos=False, special=False)]
        b = [trimmed.detokenize([i]) for i in trimmed.tokenize(text.encode("utf-8"), add_bos=False, special=False)]
        total += 1
        same += a == b
    print(f"validation texts cut the same way by both tokenizers: {same:,} of {total:,} ({same / total:.2%}); "
          f"{len(kept_text):,} distinct token strings")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "src"))
    sys.exit(main())
