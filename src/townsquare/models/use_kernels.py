"""Compiled (numba) loops for `townsquare.models.use_fast`: the per-token steps around each GEMM.

In numpy each of these steps was its own pass over a (tokens x n*256) array: gather the cached
rows, add n shifted slices, add the bias, ReLU, add the residual, find every row's peak, scale
(and after the GEMM: rescale, shift-add, bias, ReLU, residual, row sums). Here two loops over
the tokens do all of it, and release the GIL, so the encoder's worker threads run them side by
side. The convolutions *scatter*: each token's whole row of per-offset products is read once,
contiguously, and its n blocks are added to the n output rows it reaches (which stay in L1).
Gathering instead (each output row reading one block from each of n random table rows) was
2-5x slower than numpy's take on a table larger than the cache; scattering is ~2x faster than
numpy. Offsets are still summed in numpy's order. fastmath lets the compiler vectorise the sums and the peak
(reassociation: float32 rounding differs from numpy's in the last bits; per row, so still
independent of the batch).
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(nogil=True, cache=True, fastmath=True)
def conv1_relu(conv1: np.ndarray, residual: np.ndarray, row_tok: np.ndarray, token_of_row: np.ndarray,
               b1: np.ndarray, n: int, left: int, h: np.ndarray, a: np.ndarray,
               peak: np.ndarray) -> None:  # pragma: no cover - compiled
    """First convolution of one branch over the padded layout, in place.

    ``h[t] = relu(sum_j conv1[row_tok[t - left + j], block j] + b1) + residual[row_tok[t]]`` for every
    token row t (``token_of_row[t] >= 0``), zero on pad rows. With ``len(peak) > 0`` (the int8
    path) also ``peak[t] = max |h[t]|`` (1 on zero rows) and ``a[t] = h[t] * (1 / peak[t])``: every row
    on the same [-1, 1] grid.
    """
    n_rows, width = h.shape
    h[:] = 0.0
    for s in range(n_rows):
        if token_of_row[s] < 0:  # pad rows hold the all-zero token
            continue
        src = conv1[row_tok[s]]
        for j in range(n):
            t = s + left - j
            if 0 <= t < n_rows and token_of_row[t] >= 0:
                out = h[t]
                off = j * width
                for c in range(width):
                    out[c] += src[off + c]
    scaled = len(peak) > 0
    zero = np.float32(0.0)
    for t in range(n_rows):
        out = h[t]
        top = zero
        if token_of_row[t] >= 0:
            own = residual[row_tok[t]]
            for c in range(width):  # (ternaries, not max(): these loops vectorise)
                v = out[c] + b1[c]
                out[c] = (v if v > zero else zero) + own[c]
            for c in range(width):
                x = abs(out[c])
                top = x if x > top else top
        if scaled:
            if top == zero:
                top = np.float32(1.0)
            peak[t] = top
            inv = np.float32(1.0) / top
            scaled_row = a[t]
            for c in range(width):
                scaled_row[c] = out[c] * inv


@njit(nogil=True, cache=True, fastmath=True)
def conv2_relu(g: np.ndarray, peak: np.ndarray, h: np.ndarray, b2: np.ndarray, n: int, left: int,
               token_of_row: np.ndarray, rows: np.ndarray, out: np.ndarray, row_sum: np.ndarray,
               row_sq: np.ndarray) -> None:  # pragma: no cover - compiled
    """Second convolution's shift-add, bias, ReLU and residual for each token, in token order.

    ``g`` holds every padded row's per-offset products times ``1 / peak[row]`` (undone here; all
    ones on the float32 path); ``rows[k]`` is token k's padded row and ``token_of_row`` its
    inverse (-1 on pad rows). ``out[k]`` gets the branch's features, and their sum and sum of
    squares are added to ``row_sum[k]`` and ``row_sq[k]`` (for the final layernorm).
    """
    n_rows = len(token_of_row)
    width = out.shape[1]
    out[:] = 0.0
    for s in range(n_rows):
        if token_of_row[s] < 0:  # a pad row's products are zero
            continue
        src = g[s]
        p = peak[s]
        for j in range(n):
            t = s + left - j
            if 0 <= t < n_rows:
                k = token_of_row[t]
                if k >= 0:
                    dst = out[k]
                    off = j * width
                    for c in range(width):
                        dst[c] += src[off + c] * p
    zero = np.float32(0.0)
    for k in range(len(rows)):
        dst = out[k]
        own = h[rows[k]]
        for c in range(width):
            v = dst[c] + b2[c]
            dst[c] = (v if v > zero else zero) + own[c]
        total = zero
        squares = zero
        for c in range(width):
            total += dst[c]
            squares += dst[c] * dst[c]
        row_sum[k] += total
        row_sq[k] += squares


@njit(nogil=True, cache=True, fastmath=True)
def segment_sums(indptr: np.ndarray, weight: np.ndarray, src: np.ndarray, src_row: np.ndarray,
                 out: np.ndarray, col: int) -> None:  # pragma: no cover - compiled
    """``out[s, col:col + width] = sum_k weight[k] * src[src_row[k]]`` over each sentence s's tokens
    ``indptr[s]:indptr[s + 1]`` (in token order, so the sums do not depend on the cache layout)."""
    width = src.shape[1]
    for s in range(len(indptr) - 1):
        dst = out[s, col:col + width]
        dst[:] = 0.0
        for k in range(indptr[s], indptr[s + 1]):
            row = src[src_row[k]]
            w = weight[k]
            for c in range(width):
                dst[c] += w * row[c]
