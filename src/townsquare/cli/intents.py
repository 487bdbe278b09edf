"""`townsquare intents train|predict`: intent detection with out-of-scope (hand-off) detection."""

from __future__ import annotations

import json
import time
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from townsquare.cli import app, console, plural
from townsquare.cli.files import open_output, shown, status_console
from townsquare.errors import BadInput

intents_app = typer.Typer(help="Intents: train from text,intent examples; label queries (or oos).",
                          no_args_is_help=True)
app.add_typer(intents_app, name="intents")
out = console(highlight=False, soft_wrap=True)
MIN_FOR_RATE = 100  # queries: below this, `predict` prints no queries-per-second figure


def _encoders(value: str) -> list[str]:
    return [e.strip() for e in value.split(",") if e.strip()]


@intents_app.command("train")
def train_cmd(
    examples: Path = typer.Option(..., "--examples", help="CSV/JSONL with text,intent; intent 'oos' = out of scope."),
    model_dir: Path = typer.Option(..., "--model-dir", help="Folder to save the model into."),
    encoders: str = typer.Option("use,e5,minilm", "--encoders", help="Comma-separated: use, e5, minilm."),
    max_reject: float = typer.Option(0.015, "--max-reject",
                                     help="Share of held-out in-scope queries the oos threshold may reject."),
    finetune: bool = typer.Option(True, "--finetune/--no-finetune",
                                  help="Also fine-tune MiniLM on the examples (more accurate; ~2 min per "
                                       "1,000 examples on 2 cores)."),
    epochs: int = typer.Option(5, "--epochs", help="Fine-tuning epochs."),
) -> None:
    """Train an intent model; the out-of-scope threshold is calibrated on held-out examples."""
    from townsquare.respond.intents import load_examples, train

    if not 0.0 <= max_reject < 1.0:
        raise BadInput("--max-reject", f"{max_reject} is not in [0, 1)", "use e.g. 0.02")
    if epochs < 1:
        raise BadInput("--epochs", f"{epochs} is not a positive number of epochs", "use e.g. 5")
    ex = load_examples(examples)
    t0 = time.perf_counter()
    with Progress(TextColumn("fine-tuning"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=out, disable=not out.is_terminal, transient=True) as bar:
        task = bar.add_task("fine-tuning", total=None)
        model = train(ex.texts, ex.intents, _encoders(encoders), max_reject=max_reject, finetune=finetune,
                      epochs=epochs, progress=lambda step, total: bar.update(task, completed=step, total=total))
    model.save(model_dir)
    n_int = len([label for label in model.labels if label != "oos"])
    how = "frozen encoders + fine-tuned MiniLM" if model.finetuned else "frozen encoders"
    if model.non_english:
        how += f"; other languages: {' + '.join(model.non_english.encoders)}"
    out.print(f"trained {n_int} intents on {len(ex.texts):,} examples ({model.meta['n_oos_examples']} oos; {how}) "
              f"in {time.perf_counter() - t0:.0f} s; oos threshold {model.threshold:.3f}; saved to {model_dir}")


@intents_app.command("predict")
def predict_cmd(
    model_dir: Path = typer.Option(..., "--model-dir", help="Folder written by `intents train`."),
    input_path: Path = typer.Option(..., "--input", help="JSONL with a 'text' per line (or .txt, one per line)."),
    output: str = typer.Option(..., "--output", help="JSONL to write: id, text, intent (or 'oos'), confidence; "
                               "- for standard output."),
) -> None:
    """Label each query with an intent or 'oos' (hand it to a human), with a confidence."""
    from townsquare.respond.intents import IntentModel, load_queries

    model = IntentModel.load(model_dir)
    texts, ids = load_queries(input_path)
    t0 = time.perf_counter()
    intents, conf = model.predict(texts)
    secs = time.perf_counter() - t0
    with open_output(output, example="preds.jsonl") as f:
        for i, t, label, c in zip(ids, texts, intents, conf, strict=True):
            f.write(json.dumps({"id": i, "text": t, "intent": label, "confidence": round(float(c), 4)},
                               ensure_ascii=False) + "\n")
    n_oos = sum(label == "oos" for label in intents)
    # A rate over a handful of queries measures the models' warm-up, not their speed ("0/s"): left out there.
    rate = f" ({len(texts) / max(secs, 1e-9):,.0f}/s)" if len(texts) >= MIN_FOR_RATE else ""
    status_console(output, out).print(f"labelled {plural(len(texts), 'query', 'queries')} ({n_oos:,} oos) in "
                                      f"{secs:.1f} s{rate}; wrote {shown(output)}")
