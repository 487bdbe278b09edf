"""`townsquare analyze --engine ray`: the Analyzer over Parquet files as a Ray Data job.

    from townsquare.scale.analyze import analyze_parquet_with_ray
    report = analyze_parquet_with_ray("posts/*.parquet", "out/", workers=2)   # local Ray
    report = analyze_parquet_with_ray("s3://b/posts/", "s3://b/out/", address="head:6379", workers=32)

Input: Parquet with `id` and `text` columns (and `lang`, used when every file has it). Output: Parquet
files in `output_dir`, one row per input row in input order, in the schema of `townsquare.scale.table`.
Each actor loads the embedder and heads once (seconds) and then analyses batches of `batch_size`
rows (milliseconds each); Ray streams blocks from the readers through the actor pool to the writers,
so memory stays flat however large the input is.

Without `address` a private local Ray starts on 127.0.0.1 with `workers` + 1 CPUs (one actor per
worker, one CPU for reading and writing) and stops afterwards.
With `address` the job runs on that cluster and leaves it running; every node needs townsquare
installed and must see the input and output paths (a shared filesystem or s3://, gs://, ...).
"""

from __future__ import annotations

import glob
import logging
import os
import socket
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from townsquare.errors import BadInput
from townsquare.scale.table import records_to_table
from townsquare.understand.analyzer import Analyzer

REQUIRED = ("id", "text")
ROWS_PER_FILE = 100_000  # results are small (~150 B a row): fewer, larger files read faster downstream
CLUSTER_FIX = ("start one with `ray start --head` and pass the address it prints (HOST:6379, "
               "or ray://HOST:10001 for Ray Client), or leave --address out to run on this machine")


class AnalyzerActor:
    """One per Ray worker: loads the models once, then turns each Arrow batch into result rows."""

    def __init__(self) -> None:
        self.analyzer = Analyzer()
        # The embedder sizes its BLAS pool for a whole machine (2 threads); an actor owns only the
        # CPUs Ray gave it, and more threads than that oversubscribe the node (measured on 2 cores,
        # 2 actors: 335 rows/s with 2 threads each, 457 with 1)
        cpus = _assigned_cpus()
        if cpus is not None and hasattr(self.analyzer.embedder, "threads"):
            self.analyzer.embedder.threads = max(1, int(cpus))

    def __call__(self, batch: pa.Table) -> pa.Table:
        texts = batch.column("text").to_pylist()
        langs = None
        if "lang" in batch.column_names:
            langs = [lang if isinstance(lang, str) and lang.strip() else None
                     for lang in batch.column("lang").to_pylist()]
        return records_to_table(batch.column("id"), analyze_every_row(self.analyzer, texts, langs))


def _assigned_cpus() -> float | None:
    """The CPUs Ray reserved for this actor (1 by default); None outside Ray."""
    import ray

    if not ray.is_initialized():  # called directly, not as an actor: asking would start a Ray
        return None
    return ray.get_runtime_context().get_assigned_resources().get("CPU", 1.0)


def analyze_every_row(analyzer: Analyzer, texts: list, langs: list | None) -> list[dict]:
    """`analyzer.analyze`, and if the batch fails, row by row: a failing row gets `error`, never vanishes."""
    try:
        return analyzer.analyze(texts, langs)
    except Exception:  # noqa: BLE001 - one unexpected input must not cost the other rows of its batch
        records = []
        for k, text in enumerate(texts):
            try:
                records += analyzer.analyze([text], None if langs is None else [langs[k]])
            except Exception as exc:  # noqa: BLE001
                reason = str(exc).splitlines()[0] if str(exc) else ""
                records.append({"error": f"text: analysis failed ({type(exc).__name__}: {reason})"})
        return records


def analyze_parquet_with_ray(inputs: str, output_dir: str, *, address: str | None = None,
                             workers: int = 2, batch_size: int = 1024) -> dict:
    """Analyse every row of the Parquet `inputs` (a file, a directory or a glob) into `output_dir`.

    Returns ``{"rows", "errors", "files", "output_files", "seconds", "rows_per_second", "output"}``:
    rows written, rows with `error` set, input files, output files, and the job's wall time.
    """
    if workers < 1:
        raise BadInput("--workers", f"{workers} is not a worker count", "pass 1 or more")
    if batch_size < 1:
        raise BadInput("--batch-size", f"{batch_size} is not a batch size", "pass 1 or more (e.g. 1024)")
    files = resolve_inputs(inputs)
    columns = readable_columns(files)
    output = prepare_output(output_dir)
    ray, owns_ray = start_ray(address, workers)
    started = time.perf_counter()
    try:
        import ray.data

        context = ray.data.DataContext.get_current()
        preserve = context.execution_options.preserve_order
        context.execution_options.preserve_order = True  # batches stay the ones an in-process run sees
        try:
            ds = ray.data.read_parquet(files, partitioning=None).select_columns(columns)
            # blocks of exactly one batch (rows k*B..(k+1)*B-1), streamed without a shuffle: every
            # actor gets work even from one big row group, and each batch is the one an in-process
            # run with the same batch size sees, so the results match it (the embedder's floats
            # depend slightly on what else is in the batch)
            ds = ds.repartition(target_num_rows_per_block=batch_size, strict=True)
            ds = ds.map_batches(AnalyzerActor, compute=ray.data.ActorPoolStrategy(size=workers),
                                batch_size=batch_size, batch_format="pyarrow")
            ds.write_parquet(output, min_rows_per_file=ROWS_PER_FILE)
            seconds = time.perf_counter() - started  # the job itself, without starting or stopping Ray
        finally:
            context.execution_options.preserve_order = preserve
    finally:
        if owns_ray:
            ray.shutdown()
    rows, errors, output_files = count_output(output)
    return {"rows": rows, "errors": errors, "files": len(files), "output_files": output_files,
            "seconds": round(seconds, 3), "rows_per_second": round(rows / seconds, 1) if seconds else None,
            "output": output}


def resolve_inputs(inputs: str) -> list[str]:
    """The Parquet files `inputs` names; a URI (s3://...) is passed to Ray as it is."""
    if "://" in inputs:
        return [inputs]
    path = Path(inputs).expanduser()
    if path.is_dir():
        files = sorted(str(p) for p in path.rglob("*.parquet") if p.is_file())
    elif path.is_file():
        files = [str(path)]
    else:
        files = sorted(p for p in glob.glob(str(path), recursive=True) if Path(p).is_file())
    if not files:
        raise BadInput("--input", f"{inputs!r} matches no Parquet files",
                       "pass a .parquet file, a directory of them, or a quoted glob such as 'posts/*.parquet'")
    return files


def readable_columns(files: list[str]) -> list[str]:
    """The columns to read: `id`, `text`, and `lang` when every file has it. Checks local files only:
    each must be Parquet with `id` and `text`, of the same types in every file (Ray cannot merge them)."""
    if any("://" in f for f in files):
        return list(REQUIRED)
    has_lang, first = True, None
    for f in files:
        try:
            schema = pq.read_schema(f)
        except (OSError, pa.ArrowException) as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise BadInput("--input", f"{f} is not a readable Parquet file ({reason})",
                           "pass only Parquet files, or a glob that matches only them") from None
        for column in REQUIRED:
            if column not in schema.names:
                raise BadInput("--input", f"{f} has no `{column}` column (it has: {', '.join(schema.names) or 'none'})",
                               f"name the post's {column} column `{column}`")
        first = first or (f, schema)
        for column in ("id", "text", "lang"):
            if column in schema.names and column in first[1].names:
                theirs, ours = schema.field(column).type, first[1].field(column).type
                if theirs != ours:
                    raise BadInput("--input", f"`{column}` is {theirs} in {f} but {ours} in {first[0]}",
                                   "give every file the same column types, or analyse them separately")
        has_lang = has_lang and "lang" in schema.names
    return [*REQUIRED, "lang"] if has_lang else list(REQUIRED)


def prepare_output(output_dir: str) -> str:
    """Where the results go; refuses a directory that already holds Parquet files (they would mix)."""
    if "://" in output_dir:
        return output_dir
    path = Path(output_dir).expanduser().resolve()
    if path.exists() and not path.is_dir():
        raise BadInput("--output", f"{output_dir} is a file", "pass a directory; results are written as Parquet files in it")
    if path.is_dir() and any(path.glob("*.parquet")):
        raise BadInput("--output", f"{output_dir} already holds Parquet files",
                       "pass an empty or new directory, or remove the old results first")
    return str(path)  # Ray creates it


def start_ray(address: str | None, workers: int):
    """(ray module, whether we started it). A Ray this process already runs is used and left running."""
    if address is None:
        # before `import ray`: Ray reads these at import; they keep a local Ray on loopback, tokenless
        os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
        os.environ["RAY_AUTH_MODE"] = "disabled"
    try:
        import ray
    except ImportError:
        raise BadInput("--engine", "ray is not installed", "pip install 'townsquare[scale]', or use the default engine") from None
    if ray.is_initialized():
        return ray, False
    if address is None:
        # one CPU beyond the actors for the read and write tasks: with exactly `workers` CPUs the
        # actor pool takes them all and the job waits forever for a CPU to list the input files
        ray.init(address="local", num_cpus=workers + 1, include_dashboard=False, log_to_driver=False,
                 logging_level=logging.WARNING, _node_ip_address="127.0.0.1")
        return ray, True
    probe(address)
    try:
        ray.init(address=address, logging_level=logging.WARNING)
    except Exception as exc:  # noqa: BLE001 - Ray raises ConnectionError, ValueError or RuntimeError here
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise BadInput("--address", f"cannot reach a Ray cluster at {address} ({reason[:200]})", CLUSTER_FIX) from None
    return ray, False


def probe(address: str) -> None:
    """Fail in seconds, in one line, when nothing listens at a HOST:PORT address (Ray would retry for minutes)."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        return  # "auto" and other forms Ray resolves itself
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=5).close()
    except OSError as exc:
        raise BadInput("--address", f"nothing answers at {address} ({exc.strerror or exc})", CLUSTER_FIX) from None


def count_output(output: str) -> tuple[int, int, int]:
    """(rows, rows with an error, files) written to `output`, from Parquet metadata and the `error` column."""
    import pyarrow.dataset as pads

    if "://" not in output and not Path(output).is_dir():
        return 0, 0, 0  # an empty input writes nothing
    dataset = pads.dataset(output, format="parquet")
    errors = dataset.count_rows(filter=pads.field("error").is_valid())
    return dataset.count_rows(), errors, len(dataset.files)
