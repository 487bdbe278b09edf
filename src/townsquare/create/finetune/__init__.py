"""Fine-tuning the create model: data preparation, LoRA training (peft), perplexity, GGUF LoRA export.

* ``prompt``: the one prompt format the shipped adapter learned (``build_prompt``); generation imports it.
* ``data``: posts (store or file) -> cleaned, redacted, de-duplicated -> training pairs, with a report.
* ``corpora``: instruction pairs from the public corpora (TweetEval, LCCC, Bitext), train parts only.
* ``train``: LoRA training with checkpoints, resume and held-out perplexity before/after.
* ``perplexity``: perplexity of texts under a generator (base or with an adapter).
* ``gguf_lora``: a peft LoRA adapter -> a GGUF LoRA file for llama.cpp (``lora_path=``).

torch/transformers/peft are imported only by the functions that need them.
"""

from townsquare.create.finetune.data import (
    PrepareOptions,
    PrepareReport,
    TrainingPair,
    prepare_posts,
    read_posts_file,
    read_posts_store,
)
from townsquare.create.finetune.prompt import PLATFORM_LIMITS, STOP, build_prompt

__all__ = [
    "PLATFORM_LIMITS",
    "STOP",
    "PrepareOptions",
    "PrepareReport",
    "TrainingPair",
    "build_prompt",
    "prepare_posts",
    "read_posts_file",
    "read_posts_store",
]
