"""A copy of the packaged GGUF whose vocabulary keeps only the tokens English and Chinese social text uses.

Gemma 3's 262,144-token vocabulary is most of a 270M model: its output projection (tied to the Q8_0 token
embeddings, 178 of 253 MB) is read for every generated token, and the sampler sorts 262k logits. Posts and
replies in English and Chinese use a small part of it. The trimmed model keeps:

- every token the training corpora of the shipped adapter produce (tweets, Weibo/LCCC posts, support answers;
  `scripts/build_vocab_subset.py` writes the list into the package),
- every single-character token (so no character falls back to bytes), the 256 byte tokens, control tokens,
- and every token that is a substring of a kept token: SentencePiece reaches a token by merging the pieces
  inside it, so those pieces must exist for the trimmed tokenizer to cut text the way the full one does.

The weights of kept tokens are untouched, so for text in the kept vocabulary the model computes the same
logits (renormalised over fewer tokens). Built once from the packaged file and cached next to it.
"""

from __future__ import annotations

import hashlib
import os
from importlib import resources
from pathlib import Path

import numpy as np

KEPT_TOKENS = "kept_tokens.npy"  # in townsquare/assets/llm: token ids of the corpora, from the build script
NORMAL, CONTROL, BYTE = 1, 3, 6


def closure(tokens: list[str], types: np.ndarray, corpus_ids: np.ndarray) -> np.ndarray:
    """Sorted ids to keep: the corpus ids plus single characters, bytes, specials and every in-vocab substring."""
    index = {t: i for i, t in enumerate(tokens)}
    keep = set(int(i) for i in corpus_ids)
    for i, (t, kind) in enumerate(zip(tokens, types, strict=True)):
        if kind == BYTE or (kind != NORMAL and not t.startswith("<unused")) or len(t) == 1:
            keep.add(i)
    for i in list(keep):
        t = tokens[i]
        if types[i] != NORMAL:
            continue
        for a in range(len(t)):
            for b in range(a + 1, len(t) + 1):
                j = index.get(t[a:b])
                if j is not None:
                    keep.add(j)
    return np.array(sorted(keep), dtype=np.int64)


def kept_ids_path() -> Path:
    return Path(str(resources.files("townsquare.assets") / "llm" / KEPT_TOKENS))


def trim_gguf(source: Path, target: Path, corpus_ids: np.ndarray) -> dict:
    """Write the trimmed copy of ``source`` to ``target``; returns what was kept."""
    import gguf

    reader = gguf.GGUFReader(str(source))
    fields = reader.fields
    tokens = [str(t) for t in fields["tokenizer.ggml.tokens"].contents()]
    types = np.asarray(fields["tokenizer.ggml.token_type"].contents())
    scores = np.asarray(fields["tokenizer.ggml.scores"].contents(), dtype=np.float32)
    keep = closure(tokens, types, corpus_ids)
    new_id = {int(old): new for new, old in enumerate(keep)}
    arch = fields["general.architecture"].contents()
    writer = gguf.GGUFWriter(str(target), arch=arch)
    replace = {
        "tokenizer.ggml.tokens": [tokens[i] for i in keep],
        "tokenizer.ggml.scores": scores[keep].tolist(),
        "tokenizer.ggml.token_type": types[keep].astype(int).tolist(),
    }
    for field in reader.fields.values():
        if field.name == gguf.Keys.General.ARCHITECTURE or field.name.startswith("GGUF."):
            continue
        kind = field.types[0]
        sub = field.types[-1] if kind == gguf.GGUFValueType.ARRAY else None
        value = field.contents()
        if field.name in replace:
            value = replace[field.name]
        elif field.name.startswith("tokenizer.ggml.") and field.name.endswith("_token_id"):
            value = new_id[int(value)]  # bos/eos/unk/pad move with the renumbering
        writer.add_key_value(field.name, value, kind, sub_type=sub)
    # Quantised tensors travel as bytes (rows, bytes per row); token_embd's rows are tokens (whole blocks each).
    tensors = [(t, np.ascontiguousarray(t.data.reshape(len(tokens), -1)[keep]) if t.name == "token_embd.weight"
                else t.data) for t in reader.tensors]
    for t, data in tensors:
        writer.add_tensor_info(t.name, data.shape, data.dtype, data.nbytes, t.tensor_type)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    for _, data in tensors:
        writer.write_tensor_data(data, tensor_endianess=reader.endianess)
    writer.close()
    return {"tokens": len(keep), "of": len(tokens)}


def trimmed_gguf(source: Path | None = None) -> Path:
    """The trimmed copy of ``source`` (default: the packaged model), built on first use and cached beside it."""
    from townsquare.models.llm.packaged import packaged_gguf

    source = Path(source) if source else packaged_gguf()
    ids = np.load(kept_ids_path())
    tag = hashlib.sha256(ids.tobytes() + str(source.stat().st_size).encode()).hexdigest()[:12]
    target = source.with_name(f"{source.stem}.trim-{tag}.gguf")
    if not target.is_file():
        partial = target.with_suffix(f".{os.getpid()}.partial")  # concurrent first uses don't collide
        trim_gguf(source, partial, ids)
        partial.replace(target)  # atomic: a reader never sees half a file
    return target
