"""Generation with llama.cpp (llama-cpp-python) on a GGUF file — the default backend.

One model per process, loaded once; a lock makes it safe to share between threads (llama.cpp
contexts are not re-entrant). The ``n`` candidates of one prompt are decoded together, one forward pass
per step for all of them (parallel.py): five candidates cost about what one costs.
"""

from __future__ import annotations

import os
import random
import threading
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from townsquare.errors import BadInput
from townsquare.models.cpu import has_amx
from townsquare.models.llm.base import (
    Generation,
    check_generate_args,
    check_score_args,
    cut_at_stop,
    no_beams,
    too_long,
)
from townsquare.models.llm.packaged import packaged_gguf
from townsquare.models.llm.parallel import MAX_SEQUENCES, ParallelDecoder

# llama.cpp's OpenMP threads spin while they wait for the next token; on a busy 2-core machine that
# made generation 5x slower (7 vs 35 tok/s). Passive waiting costs one wake-up per token. libgomp reads
# this once, when first loaded -- and torch loads the same libgomp.so.1, so a process that imports
# torch before this module must set OMP_WAIT_POLICY=PASSIVE itself (in its environment).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


# Public tweet corpora (TweetEval, and so models tuned on them) anonymise every mention as "@user"; a model that
# learned to write it can fill a whole candidate with "@user @user ...". It is never a real handle: never write it.
NEVER_WRITE = ("@user", " @user")


def cpu_count() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


@contextmanager
def safe_weight_buffers():
    """Load without llama.cpp's extra weight buffers on CPUs with AMX.

    A natively built llama.cpp puts the weights in AMX buffers there, and every decode of the packaged model then died
    with SIGSEGV (llama-cpp-python 0.3.36, Xeon with AMX, 2026-12-06; fine with the buffers off, and on CPUs without
    AMX). `Llama()` has no switch for them, so its default model parameters are swapped for the load. The price:
    no repacked Q4_K either, so decoding is slower there."""
    if not has_amx():
        yield
        return
    import llama_cpp.llama_cpp as lib

    default = lib.llama_model_default_params

    def without_extra_buffers():
        params = default()
        params.use_extra_bufts = False
        return params

    lib.llama_model_default_params = without_extra_buffers
    try:
        yield
    finally:
        lib.llama_model_default_params = default


def load_llama(**kwargs):
    """``llama_cpp.Llama(**kwargs)`` under `safe_weight_buffers`: how every llama.cpp model here is loaded."""
    from llama_cpp import Llama

    with safe_weight_buffers():
        return Llama(**kwargs)


_log_callback = None


def _quiet_llama_log() -> None:
    """llama.cpp logs from C to stderr even with verbose=False (e.g. one line per LoRA tensor); keep errors only."""
    global _log_callback
    if _log_callback is not None or os.environ.get("TOWNSQUARE_LLAMA_LOG"):
        return
    import ctypes
    import sys

    import llama_cpp

    @llama_cpp.llama_log_callback
    def callback(level, text, _user_data):  # GGML_LOG_LEVEL_ERROR = 4
        if level == 4:
            sys.stderr.write(text.decode("utf-8", "replace"))

    _log_callback = callback  # a reference, or ctypes frees it while llama.cpp still calls it
    llama_cpp.llama_log_set(callback, ctypes.c_void_p())


class LlamaCppGenerator:
    """``model_path``: a GGUF file (default: the packaged Gemma 3 270M); ``lora_path``: a GGUF LoRA adapter.

    ``threads`` evaluate prompts and multi-token batches (default: every core); ``decode_threads`` evaluate one
    token at a time. One is fastest for a small model: a token is ~300 small operations, and waking a second thread
    for each cost more than it saved (2-core VM: 64.5 tokens/s with one thread, 26.7 with two).
    """

    def __init__(
        self,
        model_path: str | Path | None = None,
        *,
        lora_path: str | Path | None = None,
        context_length: int = 2048,
        threads: int | None = None,
        decode_threads: int = 1,
    ):
        try:
            import llama_cpp  # noqa: F401

            _quiet_llama_log()
        except ImportError:
            raise BadInput(
                "TOWNSQUARE_LLM", "llama-cpp-python is not installed",
                "pip install 'townsquare[llm]', or set TOWNSQUARE_LLM=transformers:/path/to/model",
            ) from None
        path = Path(model_path) if model_path else packaged_gguf()
        for what, p in (("model", path), ("LoRA adapter", lora_path)):
            if p is not None and not Path(p).is_file():
                raise BadInput("TOWNSQUARE_LLM", f"no {what} file at {p}", "give the path of a .gguf file")
        self.name = f"llamacpp:{path}"
        self.context_length = context_length
        self._kwargs = dict(
            model_path=str(path), n_ctx=context_length, n_threads=decode_threads,
            n_threads_batch=threads or cpu_count(), lora_path=str(lora_path) if lora_path else None, verbose=False,
        )
        try:
            self._llm = load_llama(**self._kwargs)
        except ValueError as exc:  # llama.cpp says only "Failed to load model from file"
            raise BadInput("TOWNSQUARE_LLM", f"llama.cpp could not load {path} ({exc})", "check it is a GGUF model") from None
        self._scorer = None  # a second context that keeps every position's logits; made on first score()
        self._decoder = None
        self._banned_ids = None
        self._masks: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    def _parallel(self):
        """The context that decodes all candidates of a prompt together (made on first use)."""
        if self._decoder is None:
            self._decoder = ParallelDecoder(self._llm, context_length=self.context_length,
                                            threads=self._kwargs["n_threads_batch"],
                                            decode_threads=self._kwargs["n_threads"])
        return self._decoder

    def _banned(self) -> tuple[tuple[int, ...], ...]:
        if self._banned_ids is None:
            self._banned_ids = tuple(tuple(self._tokens(text, bos=False)) for text in NEVER_WRITE)
        return self._banned_ids

    def _mask(self, avoid: str) -> np.ndarray | None:
        """Ids of the vocabulary's tokens that hold one of these characters (once per set of characters)."""
        if not avoid:
            return None
        if avoid not in self._masks:
            chars = [c.encode("utf-8") for c in avoid]
            pieces = (self._llm.detokenize([i]) for i in range(self._llm.n_vocab()))
            self._masks[avoid] = np.flatnonzero([any(c in p for c in chars) for p in pieces])  # "@": 20 of 98.6k
        return self._masks[avoid]

    def _tokens(self, text: str, bos: bool) -> list[int]:
        return self._llm.tokenize(text.encode("utf-8"), add_bos=bos, special=False)

    def generate(
        self,
        prompts: list[str],
        *,
        max_tokens: int = 64,
        temperature: float = 0.7,
        top_p: float = 0.95,
        n: int = 1,
        stop: list[str] | None = None,
        seed: int | None = None,
        beams: int = 1,
        avoid_start: str = "",
    ) -> list[list[Generation]]:
        stop = check_generate_args(prompts, max_tokens, temperature, top_p, n, stop, beams)
        no_beams("llama.cpp", beams)
        results = []
        with self._lock:
            for i, prompt in enumerate(prompts):
                tokens = self._tokens(prompt, bos=True)
                if len(tokens) + max_tokens > self.context_length:
                    raise too_long(f"prompts[{i}]", len(tokens), max_tokens, self.context_length)
                k = n if temperature > 0 else 1  # greedy has one answer: repeated below
                # The sequences share one context: the prompt once, plus max_tokens cells for each sequence. Decode
                # as many together as fit; sequence j always gets seed + j, however they are grouped.
                group = min(MAX_SEQUENCES, max(1, (self.context_length - len(tokens)) // max_tokens))
                first = random.randrange(2**31) if seed is None else seed
                outs = []
                for start in range(0, k, group):
                    outs += self._parallel().generate(
                        tokens, min(group, k - start), max_tokens=max_tokens, temperature=temperature, top_p=top_p,
                        stop=stop, seed=first + start, banned=self._banned(), masked_first=self._mask(avoid_start),
                    )
                candidates = []
                for text, finish, tokens, logprob in outs:
                    text, stopped = cut_at_stop(text, stop)
                    candidates.append(Generation(text=text, finish_reason="stop" if stopped else finish,
                                                 tokens=tokens, logprob=logprob))
                results.append(candidates if len(candidates) == n else candidates * n)
        return results

    def score(self, texts: list[str], *, contexts: list[str] | None = None) -> list[tuple[float, int]]:
        contexts = check_score_args(texts, contexts)
        results = []
        with self._lock:
            if self._scorer is None:
                self._scorer = load_llama(**self._kwargs, logits_all=True)
            for i, text in enumerate(texts):
                prefix = self._tokens(contexts[i] if contexts else "", bos=True)
                targets = self._tokens(text, bos=False)
                if len(prefix) + len(targets) > self.context_length:
                    raise too_long(f"texts[{i}]", len(prefix) + len(targets), 0, self.context_length)
                if not targets:
                    results.append((0.0, 0))
                    continue
                self._scorer.reset()
                self._scorer.eval(prefix + targets)
                # Row k holds the logits that predict token k + 1.
                logits = self._scorer.scores[len(prefix) - 1 : len(prefix) + len(targets) - 1].astype(np.float64)
                top = logits.max(axis=1, keepdims=True)
                log_z = top[:, 0] + np.log(np.exp(logits - top).sum(axis=1))
                chosen = logits[np.arange(len(targets)), targets]
                results.append((float((chosen - log_z).sum()), len(targets)))
        return results
