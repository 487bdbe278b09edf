"""The text pipeline every capability shares: normalisation, language id, PII, near-duplicates.

Batch first: each function a model path calls has a list form (`normalize_many`, `detect_languages`,
`find_pii_many`, `redact_many`, `near_duplicate_groups`, `MinHashDeduper.add_many`/`query_many`).
"""

from townsquare.text.dedup import MinHashDeduper, minhash_signatures, near_duplicate_groups
from townsquare.text.langid import detect_language, detect_languages
from townsquare.text.normalize import (
    drop_stray_selectors,
    extract_entities,
    extract_entities_many,
    normalize,
    normalize_many,
    strip_checkin,
)
from townsquare.text.pii import PiiSpan, cn_id_valid, find_pii, find_pii_many, luhn_valid, redact, redact_many

__all__ = [
    "MinHashDeduper",
    "PiiSpan",
    "cn_id_valid",
    "detect_language",
    "detect_languages",
    "extract_entities",
    "extract_entities_many",
    "find_pii",
    "find_pii_many",
    "luhn_valid",
    "minhash_signatures",
    "near_duplicate_groups",
    "normalize",
    "normalize_many",
    "redact",
    "redact_many",
    "drop_stray_selectors",
    "strip_checkin",
]
