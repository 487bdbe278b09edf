"""Ingestion: files and API batches in, posts stored or quarantined with a reason — never lost.

    from townsquare.ingest import ingest_path, ingest_records, IngestReport
    report = ingest_path("posts.jsonl")              # --format auto: by extension and the first records' shape
    print(report.summary())  # read N, stored S (new X, updated Y, unchanged Z), quarantined Q

Formats: generic JSON Lines / JSON / CSV / TSV / Parquet (fields in `formats/generic.py`, other column names via a
mapping), X/Twitter API v2 and v1.1, Mastodon, Weibo, Reddit, Bluesky (one module each in `formats/`).
Re-ingesting is idempotent (upsert on platform + platform id). Bad records go to the quarantine with their raw
bytes and a one-line reason; `retry_quarantined` parses them again (after a setting or the store changed).
"""

from townsquare.ingest.detect import FORMATS
from townsquare.ingest.items import IngestReport
from townsquare.ingest.pipeline import ingest_path, ingest_records
from townsquare.ingest.retry import RetryReport, retry_quarantined

__all__ = ["ingest_path", "ingest_records", "IngestReport", "FORMATS", "retry_quarantined", "RetryReport"]
