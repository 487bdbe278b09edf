"""Top-k ranking metrics over a batch of recommendation lists.

`recs` is an (n_users × k) array of item indices (−1 pads a short list); `test` is a users × items sparse
matrix whose non-zeros are the held-out positives. Users without positives are left out of the
accuracy means (they cannot be judged), as is usual.

- Precision@k = hits / k;  Recall@k = hits / |positives|;  NDCG@k = DCG / ideal DCG with binary gains
  and log2(rank + 1) discounts, the ideal list holding min(k, |positives|) hits.
- Catalogue coverage = distinct items recommended to anyone / items in the training catalogue.
- Intra-list diversity (ILD) = 1 − mean cosine similarity over the pairs of items in a list, each item
  being its binary column of the training matrix (who interacted with it); averaged over users.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def _hits(recs: np.ndarray, test: sp.csr_matrix, users: np.ndarray) -> np.ndarray:
    rows = test[users]
    hits = np.zeros(recs.shape, bool)
    for i in range(len(users)):
        positives = rows.indices[rows.indptr[i]:rows.indptr[i + 1]]
        hits[i] = np.isin(recs[i], positives) & (recs[i] >= 0)
    return hits


def ranking_metrics(recs: np.ndarray, test: sp.csr_matrix, users: np.ndarray | None = None,
                    k: int = 10) -> dict[str, float]:
    """Precision@k, Recall@k and NDCG@k averaged over the users (rows of `recs`) with test positives."""
    users = np.arange(recs.shape[0]) if users is None else np.asarray(users)
    recs = recs[:, :k]
    n_pos = np.diff(test.indptr)[users]
    judged = n_pos > 0
    hits = _hits(recs, test.tocsr(), users)[judged]
    n_pos = n_pos[judged]
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    dcg = (hits * discounts[: hits.shape[1]]).sum(1)
    ideal = np.cumsum(discounts)[np.minimum(n_pos, k) - 1]
    return {
        f"P@{k}": float((hits.sum(1) / k).mean()),
        f"R@{k}": float((hits.sum(1) / n_pos).mean()),
        f"NDCG@{k}": float((dcg / ideal).mean()),
    }


def coverage(recs: np.ndarray, n_items: int) -> float:
    """Share of the catalogue recommended to at least one user."""
    return float(len(np.unique(recs[recs >= 0])) / max(n_items, 1))


def intra_list_diversity(recs: np.ndarray, train: sp.csr_matrix) -> float:
    """Mean over lists of 1 − mean pairwise cosine between the items' binary user vectors."""
    x = train.T.tocsr().astype(bool).astype(np.float64)
    norms = np.sqrt(np.asarray(x.sum(1)).ravel())
    x = sp.diags(1.0 / np.maximum(norms, 1e-12)) @ x  # rows are unit vectors (zero rows stay zero)
    values = []
    for row in recs:
        items = row[row >= 0]
        n = len(items)
        if n < 2:
            continue
        summed = np.asarray(x[items].sum(0)).ravel()
        self_sims = float((norms[items] > 0).sum())
        mean_sim = (summed @ summed - self_sims) / (n * (n - 1))  # ‖Σv‖² − Σ‖v‖² = Σ_{i≠j} v_i·v_j
        values.append(1.0 - mean_sim)
    return float(np.mean(values)) if values else 0.0


def evaluate(recs: np.ndarray, test: sp.csr_matrix, train: sp.csr_matrix, k: int = 10) -> dict[str, float]:
    """All five numbers for a full set of lists (row u of `recs` is user u's list)."""
    out = ranking_metrics(recs, test, k=k)
    out["coverage"] = coverage(recs[:, :k], train.shape[1])
    out["ILD"] = intra_list_diversity(recs[:, :k], train)
    return out
