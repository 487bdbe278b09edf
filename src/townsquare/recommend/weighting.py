"""How much one interaction counts. Play counts are heavy-tailed: a fan's 10,000 plays of one artist should
not drown the 40 other artists they like, so most models see dampened or binary weights."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

SCHEMES = ("binary", "log1p", "log_user")


def weigh(x: sp.csr_matrix, scheme: str) -> sp.csr_matrix:
    """binary: 1 per pair; log1p: log(1 + w); log_user: log(1 + w) / the user's largest log(1 + w)."""
    y = sp.csr_matrix(x, dtype=np.float32, copy=True)
    if scheme == "binary":
        y.data[:] = 1.0
    elif scheme in ("log1p", "log_user"):
        y.data = np.log1p(y.data)
        if scheme == "log_user" and y.nnz:
            top = np.zeros(y.shape[0], np.float32)
            nonempty = np.diff(y.indptr) > 0
            top[nonempty] = np.maximum.reduceat(y.data, y.indptr[:-1][nonempty])
            y = sp.csr_matrix(sp.diags(1.0 / np.maximum(top, 1e-12)) @ y)
    else:
        raise ValueError(f"unknown weighting {scheme!r}; choose one of {', '.join(SCHEMES)}")
    return y
