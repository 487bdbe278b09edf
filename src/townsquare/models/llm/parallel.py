"""Several candidates of one prompt decoded together in llama.cpp: one forward pass per step for all of them.

On a CPU a small model's decode step is bound by reading the weights, not by arithmetic, so one step for five
sequences costs little more than one step for one. The prompt is evaluated once, its KV cells shared by every
sequence (each prompt token carries all sequence ids); after that each step feeds one new token per live
sequence. Sampling (temperature, then top-p, then a seeded draw) runs in llama.cpp's own samplers, one chain per
sequence, so candidate j with seed s is repeatable.
"""

from __future__ import annotations

import ctypes
import math
from dataclasses import dataclass, field

import numpy as np

MAX_SEQUENCES = 32  # sequences one context holds (townsquare asks for at most 20 candidates + a margin)


@dataclass
class _Sequence:
    sampler: object
    tokens: list[int] = field(default_factory=list)
    text: str = ""
    done: bool = False
    finish: str = "length"
    logprob: float = 0.0  # sum of the sampled tokens' log-probabilities under the model (temperature 1)


class ParallelDecoder:
    """A llama.cpp context that shares the loaded model (and LoRA adapter) of a ``llama_cpp.Llama``."""

    def __init__(self, llm, *, context_length: int, threads: int, decode_threads: int = 1):
        import llama_cpp
        from llama_cpp import _internals

        self._lib = llama_cpp
        self._llm = llm
        params = type(llm.context_params).from_buffer_copy(llm.context_params)
        params.n_ctx = context_length
        params.n_batch = params.n_ubatch = min(512, context_length)
        params.n_seq_max = MAX_SEQUENCES
        params.kv_unified = True  # the prompt's cells are shared, not copied per sequence
        params.n_threads, params.n_threads_batch = decode_threads, threads  # one-token steps vs batches
        self._ctx = _internals.LlamaContext(model=llm._model, params=params, verbose=False)
        if llm._lora_adapter is not None:
            adapters = (llama_cpp.llama_adapter_lora_p_ctypes * 1)(llm._lora_adapter)
            scales = (ctypes.c_float * 1)(llm.lora_scale)
            if llama_cpp.llama_set_adapters_lora(self._ctx.ctx, adapters, 1, scales):
                raise RuntimeError("llama.cpp could not apply the LoRA adapter to the parallel context")
        self._vocab = llama_cpp.llama_model_get_vocab(llm._model.model)
        self._n_vocab = llama_cpp.llama_vocab_n_tokens(self._vocab)
        self._batch = llama_cpp.llama_batch_init(params.n_batch, 0, MAX_SEQUENCES)

    def close(self) -> None:
        if self._batch is not None:
            self._lib.llama_batch_free(self._batch)
            self._batch = None
        self._ctx.close()

    def __del__(self):
        try:
            self.close()
        except Exception:  # interpreter shutdown: the library may already be gone
            pass

    def _sampler(self, temperature: float, top_p: float, seed: int):
        lib = self._lib
        chain = lib.llama_sampler_chain_init(lib.llama_sampler_chain_default_params())
        if temperature <= 0:
            lib.llama_sampler_chain_add(chain, lib.llama_sampler_init_greedy())
        else:
            lib.llama_sampler_chain_add(chain, lib.llama_sampler_init_temp(temperature))
            lib.llama_sampler_chain_add(chain, lib.llama_sampler_init_top_p(top_p, 1))
            lib.llama_sampler_chain_add(chain, lib.llama_sampler_init_dist(seed))
        return chain

    def _fill(self, entries: list[tuple[int, int, list[int], bool]]) -> None:
        """entries: (token, position, sequence ids, wants logits) -> the batch."""
        b = self._batch
        b.n_tokens = len(entries)
        for i, (token, pos, seqs, logits) in enumerate(entries):
            b.token[i] = token
            b.pos[i] = pos
            b.n_seq_id[i] = len(seqs)
            for j, s in enumerate(seqs):
                b.seq_id[i][j] = s
            b.logits[i] = logits

    def _decode(self, entries) -> None:
        self._fill(entries)
        rc = self._lib.llama_decode(self._ctx.ctx, self._batch)
        if rc != 0:
            raise RuntimeError(f"llama_decode returned {rc} (the context is full or the batch is invalid)")

    def generate(self, prompt_tokens: list[int], n: int, *, max_tokens: int, temperature: float, top_p: float,
                 stop: list[str], seed: int, banned: tuple[tuple[int, ...], ...] = (),
                 masked_first: np.ndarray | None = None) -> list[tuple[str, str, int, float]]:
        """(text, finish_reason, generated tokens, their summed log-probability) for each of ``n`` sequences.

        ``banned``: token sequences never to complete (the last token is masked after the ones before it).
        ``masked_first``: ids of tokens never to sample first."""
        if not 1 <= n <= MAX_SEQUENCES:
            raise ValueError(f"n must be 1..{MAX_SEQUENCES}")
        lib = self._lib
        lib.llama_memory_clear(self._ctx.memory, True)
        everyone = list(range(n))
        step = self._batch_size()
        for start in range(0, len(prompt_tokens), step):  # the prompt, in chunks the batch holds
            chunk = prompt_tokens[start:start + step]
            last = start + len(chunk) == len(prompt_tokens)
            self._decode([(t, start + i, everyone, last and i == len(chunk) - 1) for i, t in enumerate(chunk)])
        seqs = [_Sequence(self._sampler(temperature, top_p, (seed + j) % 2**31)) for j in range(n)]
        try:
            rows = {j: len(chunk) - 1 for j in range(n)}  # batch row whose logits each sequence samples from
            pos = len(prompt_tokens)
            for _ in range(max_tokens):
                feed = []
                for j, s in enumerate(seqs):
                    if s.done:
                        continue
                    if banned:
                        self._ban(rows[j], s.tokens, banned)
                    if masked_first is not None and not s.tokens:
                        self._logits(rows[j])[masked_first] = -np.inf
                    token = lib.llama_sampler_sample(s.sampler, self._ctx.ctx, rows[j])
                    s.logprob += self._logprob(rows[j], token)
                    if lib.llama_vocab_is_eog(self._vocab, token):
                        s.done, s.finish = True, "stop"
                        continue
                    s.tokens.append(token)
                    s.text = self._llm.detokenize(s.tokens).decode("utf-8", "ignore")
                    if stop and any(x in s.text for x in stop):
                        s.done, s.finish = True, "stop"
                        continue
                    if len(s.tokens) >= max_tokens:
                        s.done = True  # finish stays "length"; its last token needs no evaluation
                        continue
                    feed.append((j, token))
                if not feed:
                    break
                self._decode([(token, pos, [j], True) for j, token in feed])
                rows = {j: i for i, (j, _) in enumerate(feed)}
                pos += 1
        finally:
            for s in seqs:
                lib.llama_sampler_free(s.sampler)
        return [(self._llm.detokenize(s.tokens).decode("utf-8", "replace"), s.finish, len(s.tokens), s.logprob)
                for s in seqs]

    def _logits(self, row: int) -> np.ndarray:
        """The context's own logits of a batch row (a view: writing to it changes what the sampler sees)."""
        return np.ctypeslib.as_array(self._lib.llama_get_logits_ith(self._ctx.ctx, row), shape=(self._n_vocab,))

    def _ban(self, row: int, tokens: list[int], banned: tuple[tuple[int, ...], ...]) -> None:
        for seq in banned:
            head = seq[:-1]
            if not head or tuple(tokens[-len(head):]) == head:
                self._logits(row)[seq[-1]] = -np.inf

    def _logprob(self, row: int, token: int) -> float:
        logits = self._logits(row)
        top = float(logits.max())
        return float(logits[token]) - top - math.log(float(np.exp(logits - top).sum()))

    def _batch_size(self) -> int:
        return self._ctx.params.n_batch
