"""The Arrow shape of analysed posts: one flat, typed row per input row, the same for every batch.

| column | type | value |
|---|---|---|
| `id` | as in the input | the post's id, unchanged |
| `lang` | string | `en`, `zh`, `other`, `und`, or the input's `lang` when given |
| `sentiment` | string | `negative`, `neutral` or `positive` |
| `sentiment_scores` | struct<negative, neutral, positive: double> | probabilities, 4 decimals |
| `emotion` | string | `anger`, `joy`, `optimism` or `sadness` |
| `emotion_scores` | struct<anger, joy, optimism, sadness: double> | probabilities, 4 decimals |
| `offensive`, `hate`, `irony`, `crisis_informative`, `toxicity` | double | probabilities, 4 decimals |
| `pii` | list<struct<kind: string, start: int64, end: int64, text: string>> | spans, offsets into the text |
| `error` | string | null, or one line saying why the row could not be analysed |

A row with `error` set has nulls in every analysis column; it is never dropped, so the output has
exactly as many rows as the input. Structs (not JSON strings) keep the scores typed and queryable:
`SELECT sentiment_scores.negative FROM 'out/*.parquet'` works in DuckDB, Spark and pandas.
"""

from __future__ import annotations

import pyarrow as pa

from townsquare.understand.analyzer import EMOTION, PROBABILITIES, SENTIMENT

SCORES = (*PROBABILITIES, "toxicity")
PII_SPAN = pa.struct([("kind", pa.string()), ("start", pa.int64()), ("end", pa.int64()), ("text", pa.string())])


def output_schema(id_type: pa.DataType) -> pa.Schema:
    """The output schema; only the `id` type varies, following the input."""
    return pa.schema([
        ("id", id_type),
        ("lang", pa.string()),
        ("sentiment", pa.string()),
        ("sentiment_scores", pa.struct([(label, pa.float64()) for label in SENTIMENT])),
        ("emotion", pa.string()),
        ("emotion_scores", pa.struct([(label, pa.float64()) for label in EMOTION])),
        *[(name, pa.float64()) for name in SCORES],
        ("pii", pa.list_(PII_SPAN)),
        ("error", pa.string()),
    ])


def records_to_table(ids: pa.Array | pa.ChunkedArray, records: list[dict]) -> pa.Table:
    """`Analyzer.analyze` records (aligned with ``ids``) as one table in `output_schema`."""
    def label(rec: dict, field: str) -> str | None:
        return rec[field]["label"] if rec.get(field) else None

    def scores(rec: dict, field: str) -> dict | None:
        return rec[field]["scores"] if rec.get(field) else None

    columns = {
        "id": ids,
        "lang": [r.get("lang") for r in records],
        "sentiment": [label(r, "sentiment") for r in records],
        "sentiment_scores": [scores(r, "sentiment") for r in records],
        "emotion": [label(r, "emotion") for r in records],
        "emotion_scores": [scores(r, "emotion") for r in records],
        **{name: [r.get(name) for r in records] for name in SCORES},
        "pii": [r.get("pii") for r in records],
        "error": [r.get("error") for r in records],
    }
    return pa.Table.from_pydict(columns, schema=output_schema(ids.type))


def table_to_records(table: pa.Table) -> list[dict]:
    """The inverse of `records_to_table`, for reading results back as `Analyzer.analyze` records."""
    out = []
    for row in table.to_pylist():
        rec = {"id": row["id"], "lang": row["lang"]}
        for field in ("sentiment", "emotion"):
            rec[field] = {"label": row[field], "scores": row[f"{field}_scores"]} if row[field] else None
        rec.update({name: row[name] for name in SCORES})
        rec["pii"], rec["error"] = row["pii"], row["error"]
        out.append(rec)
    return out
