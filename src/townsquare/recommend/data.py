"""Read interaction and friend files into sparse matrices with id maps; make per-user hold-out splits.

Files are tab- or whitespace-separated, with or without a header line (`user item weight` / `user friend`).
A line that cannot be read stops the run with one line naming the file, the line and the column.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from townsquare.errors import BadInput


@dataclass
class Interactions:
    """A user × item matrix of weights (csr, float32) and the external ids of its rows and columns."""

    matrix: sp.csr_matrix
    users: list[str]
    items: list[str]

    @property
    def user_index(self) -> dict[str, int]:
        return {u: i for i, u in enumerate(self.users)}


def _rows(path: Path, columns: tuple[str, ...], min_columns: int) -> list[tuple[int, list[str]]]:
    """Split every non-empty line; skip the first line when it is a header (its numeric column is not a number)."""
    if not path.is_file():
        raise BadInput(str(path), "no such file", "pass the path of an existing TSV file")
    rows: list[tuple[int, list[str]]] = []
    first = True
    with path.open(encoding="utf-8", errors="replace") as fh:
        for lineno, line in enumerate(fh, 1):
            parts = [p.strip() for p in (line.split("\t") if "\t" in line else line.split())]
            if not any(parts):
                continue
            if len(parts) < min_columns:
                raise BadInput(f"{path} line {lineno}", f"expected {min_columns} columns ({', '.join(columns)}), "
                               f"found {len(parts)}", "separate the columns with a tab")
            if first and _looks_like_header(parts, columns):
                first = False
                continue
            first = False
            rows.append((lineno, parts))
    return rows


def _looks_like_header(parts: list[str], columns: tuple[str, ...]) -> bool:
    if len(columns) >= 3 and len(parts) >= 3:
        try:
            float(parts[2])
        except ValueError:
            return True
        return False
    return parts[0].lower().lstrip("#").replace("_", "") in {"user", "userid", "users", "follower", "source"}


def read_interactions(path: str | Path) -> Interactions:
    """`user<TAB>item[<TAB>weight]` → Interactions; a missing weight counts 1, repeated pairs add up."""
    path = Path(path)
    rows = _rows(path, ("user", "item", "weight"), 2)
    n = len(rows)
    if n == 0:
        raise BadInput(str(path), "no interactions found", "give lines of user<TAB>item<TAB>weight")
    users: dict[str, int] = {}
    items: dict[str, int] = {}
    r = np.empty(n, np.int64)
    c = np.empty(n, np.int64)
    w = np.ones(n, np.float64)
    for k, (lineno, parts) in enumerate(rows):
        r[k] = users.setdefault(parts[0], len(users))
        c[k] = items.setdefault(parts[1], len(items))
        if len(parts) >= 3 and parts[2] != "":
            try:
                w[k] = float(parts[2])
            except ValueError:
                raise BadInput(f"{path} line {lineno} column 3 (weight)", f"{parts[2]!r} is not a number",
                               "use a numeric weight such as a play count, or leave the column out") from None
            if not np.isfinite(w[k]) or w[k] < 0:
                raise BadInput(f"{path} line {lineno} column 3 (weight)", f"{parts[2]!r} must be a finite number >= 0",
                               "use play counts or 1 for a plain interaction")
    w = np.maximum(w, 1e-6)  # a zero weight still marks the pair as seen
    m = sp.csr_matrix((w, (r, c)), shape=(len(users), len(items)), dtype=np.float64)
    m.sum_duplicates()
    return Interactions(m.astype(np.float32), list(users), list(items))


def read_social(path: str | Path, users: list[str]) -> sp.csr_matrix:
    """`user<TAB>friend` → symmetric 0/1 user × user matrix over `users`; people not in `users` are ignored."""
    path = Path(path)
    rows = _rows(path, ("user", "friend"), 2)
    index = {u: i for i, u in enumerate(users)}
    pairs = [(index[p[0]], index[p[1]]) for _, p in rows if p[0] in index and p[1] in index and p[0] != p[1]]
    n = len(users)
    if not pairs:
        return sp.csr_matrix((n, n), dtype=np.float32)
    a, b = np.array(pairs).T
    m = sp.csr_matrix((np.ones(len(a) * 2, np.float32), (np.r_[a, b], np.r_[b, a])), shape=(n, n))
    m.data[:] = 1.0  # a friendship listed both ways counts once
    return m


def holdout_split(matrix: sp.csr_matrix, fraction: float = 0.2, seed: int = 20240601,
                  min_items: int = 5) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """Per user, hide round(fraction × their items) at random (users with < `min_items` keep all).

    Mirrors how the shared HetRec split was made (`random.Random(seed)`, shuffle each user's items).
    Returns (train, test) with the same shape; test holds the hidden pairs with their weights.
    """
    rng = random.Random(seed)
    m = matrix.tocsr()
    train_r, train_c, test_r, test_c = [], [], [], []
    for u in range(m.shape[0]):
        items = m.indices[m.indptr[u]:m.indptr[u + 1]].tolist()
        rng.shuffle(items)
        k = round(len(items) * fraction) if len(items) >= min_items else 0
        test_r += [u] * k
        test_c += items[:k]
        train_r += [u] * (len(items) - k)
        train_c += items[k:]
    def pick(r: list[int], c: list[int]) -> sp.csr_matrix:
        values = np.asarray(m[np.array(r, np.int64), np.array(c, np.int64)]).ravel() if r else np.zeros(0)
        return sp.csr_matrix((values, (r, c)), shape=m.shape, dtype=m.dtype)

    return pick(train_r, train_c), pick(test_r, test_c)
