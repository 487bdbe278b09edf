"""Approximate nearest neighbours over post embeddings (faiss), updated as posts arrive.

Small collections use an exact inner-product index (a few thousand posts are searched in well under a
millisecond); from `ivf_from` vectors on, an inverted-file index with 8-bit scalar quantisation
(`IVF{nlist},SQ8`: a quarter of the memory of float32) whose `nprobe` nearest lists are searched. The
index is trained once on the vectors it starts with; later `add` calls assign new posts to the trained
lists, and `stale` says when the collection has grown enough (fourfold) to rebuild. Vectors are L2-normalised, so
inner product is cosine similarity.
"""

from __future__ import annotations

import threading

import numpy as np

IVF_FROM = 20_000


def _faiss():
    try:
        import faiss
    except ImportError as exc:  # pragma: no cover - faiss-cpu is in the recommend extra
        from townsquare.errors import TownsquareError

        raise TownsquareError("recommend: faiss is not installed — pip install 'townsquare[recommend]'") from exc
    return faiss


class AnnIndex:
    """`add(vectors, ids)` then `search(queries, k) -> (scores, ids)`; ids are the caller's integers."""

    def __init__(self, dim: int, *, ivf_from: int = IVF_FROM, nprobe: int = 16, threads: int = 1):
        self.dim, self.ivf_from, self.nprobe = dim, ivf_from, nprobe
        self.faiss = _faiss()
        self.faiss.omp_set_num_threads(threads)  # one request, one core: parallel requests use the others
        self._lock = threading.Lock()
        self.index = self.faiss.IndexIDMap2(self.faiss.IndexFlatIP(dim))
        self.kind = "exact"
        self.trained_on = 0

    def __len__(self) -> int:
        return int(self.index.ntotal)

    def _ivf(self, train: np.ndarray):
        # ~2√n lists of ~√n/2 posts (a search scans nprobe of them); k-means on 40 samples per list keeps
        # training under a minute on one core at a million posts.
        nlist = int(np.clip(2 * np.sqrt(len(train)), 16, 4096))
        quantizer = self.faiss.IndexFlatIP(self.dim)
        ivf = self.faiss.IndexIVFScalarQuantizer(quantizer, self.dim, nlist, self.faiss.ScalarQuantizer.QT_8bit,
                                                 self.faiss.METRIC_INNER_PRODUCT)
        rng = np.random.default_rng(0)
        sample = train[rng.choice(len(train), min(len(train), 40 * nlist), replace=False)]
        ivf.cp.niter = 12
        ivf.train(np.ascontiguousarray(sample, np.float32))
        ivf.nprobe = self.nprobe
        self.kind, self.trained_on = f"IVF{nlist},SQ8 nprobe={self.nprobe}", len(train)
        return ivf

    def build(self, vectors: np.ndarray, ids: np.ndarray) -> AnnIndex:
        """Index these vectors from scratch (exact below `ivf_from`, IVF above)."""
        vectors = np.ascontiguousarray(vectors, np.float32)
        ids = np.ascontiguousarray(ids, np.int64)
        if len(vectors) >= self.ivf_from:
            index = self._ivf(vectors)
        else:
            index, self.kind = self.faiss.IndexIDMap2(self.faiss.IndexFlatIP(self.dim)), "exact"
        if len(vectors):
            index.add_with_ids(vectors, ids)
        with self._lock:
            self.index = index
        return self

    def add(self, vectors: np.ndarray, ids: np.ndarray) -> None:
        """Add new posts to the trained index (see `stale` for when a rebuild pays)."""
        if not len(vectors):
            return
        with self._lock:
            self.index.add_with_ids(np.ascontiguousarray(vectors, np.float32), np.ascontiguousarray(ids, np.int64))

    @property
    def stale(self) -> bool:
        """True when a rebuild would help: an exact index past `ivf_from`, or an IVF grown fourfold."""
        n = len(self)
        return (self.kind == "exact" and n >= self.ivf_from) or bool(self.trained_on and n >= 4 * self.trained_on)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, ids) per query row, best first; ids −1 pad short answers."""
        q = np.ascontiguousarray(np.atleast_2d(queries), np.float32)
        if not len(self) or k < 1:
            return np.zeros((len(q), 0), np.float32), np.zeros((len(q), 0), np.int64)
        with self._lock:
            index = self.index
        return index.search(q, min(k, len(self)))


def brute_force(matrix: np.ndarray, ids: np.ndarray, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The exact answer, for measuring the index: top-k inner products by one matrix product per query block."""
    q = np.atleast_2d(queries).astype(np.float32)
    scores = q @ matrix.T
    k = min(k, matrix.shape[0])
    top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    s = np.take_along_axis(scores, top, 1)
    order = np.argsort(-s, axis=1)
    return np.take_along_axis(s, order, 1), ids[np.take_along_axis(top, order, 1)]


def recall_at(approx: np.ndarray, exact: np.ndarray) -> float:
    """Mean share of the exact top-k found by the approximate search."""
    hits = [len(set(a[a >= 0].tolist()) & set(e[e >= 0].tolist())) / max(1, int((e >= 0).sum()))
            for a, e in zip(approx, exact, strict=True)]
    return float(np.mean(hits)) if hits else 0.0
