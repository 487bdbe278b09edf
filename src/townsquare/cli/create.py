"""`townsquare finetune ...` (prepare data, train a LoRA adapter, export it to GGUF) and `townsquare lm perplexity`."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from townsquare.cli import app, console, plural
from townsquare.errors import BadInput

finetune_app = typer.Typer(help="Fine-tune the create model on your own posts (LoRA).", no_args_is_help=True)
lm_app = typer.Typer(help="Language-model utilities.", no_args_is_help=True)
app.add_typer(finetune_app, name="finetune")
app.add_typer(lm_app, name="lm")
out = console(highlight=False, soft_wrap=True)
err = console(stderr=True, highlight=False, soft_wrap=True)


def _date(value: str | None, field: str) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise BadInput(field, f"{value!r} is not a date", "write it as YYYY-MM-DD or an ISO timestamp") from None


def _prepare(input: Path | None, from_store: bool, authors: list[str] | None, langs: list[str],
             min_engagement: float, since: str | None, until: str | None, min_chars: int, max_chars: int,
             platform: str, plain: bool):
    from townsquare.create.finetune.data import (
        PrepareOptions,
        prepare_posts,
        read_posts_file,
        read_posts_store,
    )

    if from_store == (input is not None):
        raise BadInput("--input/--from-store", "give exactly one of them",
                       "e.g. --input posts.jsonl, or --from-store --author acme")
    for lang in langs:
        if lang not in ("en", "zh"):
            raise BadInput("--lang", f"language {lang!r} is not supported", "use en and/or zh")
    opts = PrepareOptions(authors=authors or None, langs=tuple(langs), min_engagement=min_engagement,
                          since=_date(since, "--since"), until=_date(until, "--until"), min_chars=min_chars,
                          max_chars=max_chars, platform=platform, plain=plain)
    if from_store:
        from townsquare.store import Store

        records = read_posts_store(Store(), authors=authors, lang=langs[0] if len(langs) == 1 else None,
                                   since=opts.since, until=opts.until)
    else:
        records = read_posts_file(input)
    return prepare_posts(records, opts)


def _print_report(report) -> None:
    out.print(report.summary())
    table = Table("outcome", "posts", show_edge=False)
    table.add_row("kept", f"{report.kept:,}")
    for reason, n in report.as_dict()["dropped"].items():
        table.add_row(f"dropped: {reason.replace('_', ' ')}", f"{n:,}")
    out.print(table)


_INPUT = typer.Option(None, "--input", "-i", help="JSONL or CSV of posts: text (+ id, author, lang, created_at, "
                      "metrics or engagement, reply_to_text).")
_STORE = typer.Option(False, "--from-store", help="Read the posts from the store instead.")
_AUTHOR = typer.Option(None, "--author", help="Keep this author's posts (handle or id); repeat for several.")
_LANG = typer.Option(["en", "zh"], "--lang", help="Keep posts in this language (en, zh); repeatable.")
_ENGAGEMENT = typer.Option(0.0, "--min-engagement", help="Keep posts with at least this many likes+reposts+replies.")
_SINCE = typer.Option(None, "--since", help="Keep posts from this date on (YYYY-MM-DD).")
_UNTIL = typer.Option(None, "--until", help="Keep posts before this date (YYYY-MM-DD).")
_MIN = typer.Option(10, "--min-chars", help="Drop posts shorter than this once cleaned.")
_MAX = typer.Option(280, "--max-chars", help="Drop posts longer than this once cleaned.")
_PLATFORM = typer.Option("x", "--platform", help="Platform named in the training prompts: x, mastodon, weibo.")
_PLAIN = typer.Option(True, "--plain/--no-plain", help="Also train on each post as plain text.")


@finetune_app.command("prepare")
def prepare(
    output: Path = typer.Option(..., "--output", "-o", help="Where to write the training pairs (JSONL)."),
    input: Path = _INPUT, from_store: bool = _STORE, author: list[str] = _AUTHOR, lang: list[str] = _LANG,
    min_engagement: float = _ENGAGEMENT, since: str = _SINCE, until: str = _UNTIL, min_chars: int = _MIN,
    max_chars: int = _MAX, platform: str = _PLATFORM, plain: bool = _PLAIN,
) -> None:
    """Select, clean, redact and de-duplicate posts, and write training pairs (prompt -> completion)."""
    data = _prepare(input, from_store, author, lang, min_engagement, since, until, min_chars, max_chars,
                    platform, plain)
    output.parent.mkdir(parents=True, exist_ok=True)
    with output.open("w", encoding="utf-8") as fh:
        for p in data.pairs:
            fh.write(json.dumps({"prompt": p.prompt, "completion": p.completion, "lang": p.lang,
                                 "source": p.source}, ensure_ascii=False) + "\n")
    _print_report(data.report)
    out.print(f"wrote {plural(len(data.pairs), 'training pair')} to {output}")


def _read_pairs(path: Path):
    from townsquare.create.finetune.data import TrainingPair

    if not path.is_file():
        raise BadInput("--pairs", f"no file at {path}", "write one with townsquare finetune prepare")
    pairs = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            pairs.append(TrainingPair(row.get("prompt", ""), row["completion"], row.get("source", ""),
                                      row.get("lang", "")))
        except (json.JSONDecodeError, KeyError, TypeError, AttributeError):
            raise BadInput("--pairs", f"line {n} of {path.name} is not a training pair",
                           'write {"prompt": ..., "completion": ...} per line') from None
    return pairs


@finetune_app.command("train")
def train_cmd(
    output: Path = typer.Option(..., "--output", "-o", help="Run folder: checkpoints, then the adapter in adapter/."),
    pairs_file: Path = typer.Option(None, "--pairs", help="Training pairs from `finetune prepare`."),
    input: Path = _INPUT, from_store: bool = _STORE, author: list[str] = _AUTHOR, lang: list[str] = _LANG,
    min_engagement: float = _ENGAGEMENT, since: str = _SINCE, until: str = _UNTIL, min_chars: int = _MIN,
    max_chars: int = _MAX, platform: str = _PLATFORM, plain: bool = _PLAIN,
    model: str = typer.Option(None, "--model", help="Base model: a local HF causal-LM folder or a .gguf "
                              "(default: the packaged Gemma 3 270M)."),
    epochs: float = typer.Option(1.0, "--epochs", min=0.01),
    max_steps: int = typer.Option(None, "--max-steps", min=1, help="Stop after this many optimizer steps."),
    batch_size: int = typer.Option(4, "--batch-size", min=1),
    learning_rate: float = typer.Option(2e-4, "--lr", min=0.0),
    rank: int = typer.Option(8, "--rank", min=1, help="LoRA rank."),
    max_tokens: int = typer.Option(128, "--max-tokens", min=16, help="Tokens per example (prompt + post)."),
    checkpoint_every: int = typer.Option(50, "--checkpoint-every", min=1, help="Checkpoint every K steps."),
    valid_share: float = typer.Option(0.05, "--valid-share", min=0.0, max=0.5, help="Pairs held out for perplexity."),
    seed: int = typer.Option(0, "--seed"),
    threads: int = typer.Option(None, "--threads", min=1, help="CPU threads for torch (default: torch's choice)."),
    restart: bool = typer.Option(False, "--restart", help="Start over instead of resuming from a checkpoint."),
    gguf: bool = typer.Option(False, "--gguf", help="Also write adapter.gguf for llama.cpp (Gemma/Qwen bases)."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar on a terminal."),
) -> None:
    """Train a LoRA adapter; rerun the same command after an interruption to resume from the last checkpoint."""
    from townsquare.create.finetune.data import split_pairs
    from townsquare.create.finetune.train import TrainConfig, train

    if (pairs_file is None) == (input is None and not from_store):
        raise BadInput("--pairs/--input/--from-store", "give --pairs, or posts with --input or --from-store",
                       "e.g. townsquare finetune train --input posts.jsonl --output runs/acme")
    if pairs_file is not None:
        pairs = _read_pairs(pairs_file)
    else:
        data = _prepare(input, from_store, author, lang, min_engagement, since, until, min_chars, max_chars,
                        platform, plain)
        _print_report(data.report)
        pairs = data.pairs
    train_pairs, valid_pairs = split_pairs(pairs, valid_share, seed)
    if not train_pairs:
        raise BadInput("--input", "no posts left to train on", "loosen the filters or give more posts")
    if threads:
        import torch

        torch.set_num_threads(threads)
    config = TrainConfig(rank=rank, alpha=2.0 * rank, learning_rate=learning_rate, batch_size=batch_size,
                         max_tokens=max_tokens, epochs=epochs, max_steps=max_steps,
                         checkpoint_every=checkpoint_every, seed=seed)
    show = progress and out.is_terminal
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TimeRemainingColumn(), console=out, disable=not show, transient=True) as bar:
        task = bar.add_task("loading the model", total=None)
        phases = {"eval_before": "perplexity before", "eval_after": "perplexity after"}

        def on_progress(event: dict) -> None:
            if event["phase"] == "train":
                bar.update(task, description=f"training (loss {event['loss']:.3f})", total=event["total"],
                           completed=event["step"])
            else:
                bar.update(task, description=phases[event["phase"]], total=event["total"], completed=event["step"])

        result = train(train_pairs, output, model=model, valid=valid_pairs, config=config, restart=restart,
                       progress=on_progress)
    resumed = f", resumed from step {result.resumed_from}" if result.resumed_from else ""
    before, after = result.ppl_before.get("valid"), result.ppl_after.get("valid")
    ppl = f"; held-out perplexity {before:.2f} -> {after:.2f}" if before and after else ""
    out.print(f"trained {result.steps} steps on {result.examples:,} examples in {result.seconds:.0f} s{resumed}{ppl}; "
              f"adapter in {result.adapter}")
    if gguf:
        from townsquare.create.finetune.gguf_lora import export_gguf_lora

        path = export_gguf_lora(result.adapter, result.adapter.parent / "adapter.gguf")
        out.print(f"GGUF LoRA for llama.cpp: {path}")


@finetune_app.command("export-gguf")
def export_gguf(
    adapter: Path = typer.Option(..., "--adapter", help="A peft LoRA adapter folder."),
    output: Path = typer.Option(..., "--output", "-o", help="The .gguf file to write."),
    architecture: str = typer.Option(None, "--architecture", help="Base model's HF architecture, e.g. "
                                     "Gemma3ForCausalLM (default: from the adapter's townsquare.json)."),
    dtype: str = typer.Option("f16", "--dtype", help="f16 or f32."),
) -> None:
    """Convert a peft LoRA adapter to a GGUF LoRA file (TOWNSQUARE_LLM=llamacpp uses it as the adapter)."""
    from townsquare.create.finetune.gguf_lora import export_gguf_lora

    path = export_gguf_lora(adapter, output, architecture=architecture, dtype=dtype)
    out.print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")


@lm_app.command("perplexity")
def perplexity_cmd(
    input: Path = typer.Option(..., "--input", "-i", help='JSONL with a "text" field per line.'),
    adapter: str = typer.Option("shipped", "--adapter", help="none (base model), shipped (default: the "
                                "fine-tuned adapter in the package), a peft folder or a .gguf LoRA file."),
    backend: str = typer.Option(None, "--backend", help="transformers (default) or llamacpp."),
    model: str = typer.Option(None, "--model", help="Base model path (default: the packaged Gemma 3 270M)."),
    as_json: bool = typer.Option(False, "--json", help='Print {"perplexity": ..., "tokens": ...} only.'),
) -> None:
    """Perplexity of the texts (each scored from its start) under the base model or a fine-tuned adapter."""
    from townsquare.create.finetune.perplexity import load_scorer, perplexity, read_texts

    if backend not in (None, "transformers", "llamacpp"):
        raise BadInput("--backend", f"unknown backend {backend!r}", "use transformers or llamacpp")
    texts = read_texts(input)
    scorer = load_scorer(adapter, backend=backend, model=model)
    with Progress(TextColumn("scoring"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=err,
                  disable=not err.is_terminal, transient=True) as bar:
        task = bar.add_task("", total=len(texts))
        result = perplexity(texts, scorer, progress=lambda n: bar.advance(task, n))
    if as_json:
        typer.echo(json.dumps({"perplexity": round(result.perplexity, 4), "tokens": result.tokens}))
    else:
        out.print(f"perplexity {result.perplexity:.2f} over {result.tokens:,} tokens in {result.texts:,} texts "
                  f"({scorer.name}, adapter {adapter})")
