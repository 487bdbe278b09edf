"""The `townsquare` command: a thin shell over the library. Each job's commands live in their own module."""

from __future__ import annotations

import importlib
import os
import sys

import typer
from rich.console import Console
from rich.text import Text

from townsquare.errors import BadInput, TownsquareError

app = typer.Typer(
    name="townsquare",
    help="Self-hosted language models for social media: listen, understand, recommend, create, respond.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def console(**options) -> Console:
    """A CLI console that prints text as written: posts, messages and names are data, and rich's markup would
    swallow "[promoted]", turn ":thumbs_up:" into an emoji and crash on a customer's "[/b]". Style with
    Text.assemble or style=."""
    return Console(markup=False, emoji=False, **options)


err = console(stderr=True)
state = {"debug": False}


def plural(n: int, word: str, many: str | None = None) -> str:
    """1 user, 2 users (with thousands separators): counts in messages read as English."""
    return f"{n:,} {word if n == 1 else many or word + 's'}"


def user_ids(text: str, field: str) -> list[int]:
    """"12,57,301" (or spaces) -> [12, 57, 301]; a one-line error naming the option otherwise."""
    try:
        ids = [int(x) for x in text.replace(" ", ",").split(",") if x.strip()]
    except ValueError:
        raise BadInput(field, f"{text!r} is not a list of user ids", "give numbers, e.g. 12,57,301") from None
    if not ids:
        raise BadInput(field, "no ids given", "give numbers, e.g. 12,57,301")
    return ids


@app.callback()
def _root(debug: bool = typer.Option(False, "--debug", help="Show full tracebacks on errors.")) -> None:
    state["debug"] = debug


# One module per job; each registers its commands on `app` when imported.
COMMAND_MODULES = ["db", "ingest", "quarantine", "world", "serve", "keys", "analyze", "feed", "intents", "listen", "detect", "create", "generate", "chat", "kb", "audience", "experiment"]
for _name in COMMAND_MODULES:
    importlib.import_module(f"townsquare.cli.{_name}")


def _usage_error(exc) -> None:  # noqa: ANN001 (a click.ClickException)
    """Typer draws a bad flag value ("-k 0") as a multi-line box; ours are one line naming the flag and the fix."""
    ctx = getattr(exc, "ctx", None)
    where = f" — see `{ctx.command_path} --help`" if ctx is not None else ""
    err.print(Text.assemble(("error:", "red"), f" {exc.format_message().rstrip('.')}{where}"), highlight=False,
              soft_wrap=True)


def main() -> None:
    from typer import rich_utils

    rich_utils.rich_format_error = _usage_error  # typer (pinned <0.29) looks it up at each error
    debug = "--debug" in sys.argv
    if not debug:  # the Hugging Face loaders' bars ("Loading weights: 100%|...") are noise between ours
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    try:
        app()
    except TownsquareError as exc:
        if debug:
            raise
        err.print(Text.assemble(("error:", "red"), f" {exc}"), highlight=False, soft_wrap=True)
        sys.exit(1)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - one line for users; --debug shows everything
        if debug:
            raise
        first = str(exc).splitlines()[0] if str(exc) else ""
        err.print(Text.assemble(("error:", "red"), f" {type(exc).__name__}: {first} (run with --debug for details)"),
                  highlight=False, soft_wrap=True)
        sys.exit(1)
