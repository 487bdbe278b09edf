"""`townsquare generate`: on-brand posts and replies, several candidates, gated and ranked."""

from __future__ import annotations

import orjson
import typer
from rich.text import Text

from townsquare.cli import app, console

out = console(highlight=False, soft_wrap=True)


@app.command("generate")
def generate(
    brief: str = typer.Option("", "--brief", "-b", help="What to write about: topic, key points."),
    lang: str = typer.Option("en", "--lang", help="en or zh."),
    platform: str = typer.Option("x", "--platform", help="x (280), mastodon (500) or weibo (short by default)."),
    n: int = typer.Option(5, "--n", help="Candidates to write (1-20)."),
    tone: str = typer.Option(None, "--tone", help="e.g. joy, optimism, neutral, apologetic."),
    hashtags: bool = typer.Option(True, "--hashtags/--no-hashtags", help="Ask for hashtags or for none."),
    max_chars: int = typer.Option(None, "--max-chars", help="A tighter limit than the platform's."),
    reply_to: str = typer.Option(None, "--reply-to", help="Write a reply to this post's text instead."),
    voice: str = typer.Option(None, "--voice", help='Who speaks, e.g. "Acme support, warm and brief".'),
    temperature: float = typer.Option(0.8, "--temperature"),
    top_p: float = typer.Option(0.95, "--top-p"),
    beams: int = typer.Option(1, "--beams", help="Beam search width (transformers backend only)."),
    seed: int = typer.Option(None, "--seed", help="Same seed, same candidates."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON list of {text, passed, reasons, ...}."),
) -> None:
    """Write N candidates for a brief (or a reply), each checked and ranked; rejected ones say why."""
    from townsquare.create.writer import WriteRequest, write
    from townsquare.store import Store

    result = write(WriteRequest(brief=brief, lang=lang, platform=platform, n=n, tone=tone, hashtags=hashtags,
                                max_chars=max_chars, reply_to=reply_to, voice=voice, temperature=temperature,
                                top_p=top_p, beams=beams, seed=seed), store=Store())
    if as_json:
        typer.echo(orjson.dumps([{"text": c.text, "passed": c.passed, "reasons": c.reasons, "score": c.score,
                                  "rank": c.rank} for c in result.candidates]).decode())
        return
    for w in result.warnings:
        out.print(Text.assemble(("note:", "yellow"), f" {w}"))
    for c in result.candidates:
        mark = ("ok", "green") if c.passed else ("no", "red")
        out.print(Text.assemble(f"{c.rank}. ", mark, "  ", c.text))
        if c.reasons:
            out.print(f"      {'; '.join(c.reasons)}", style="dim")
    passed = sum(c.passed for c in result.candidates)
    out.print(f"{passed} of {len(result.candidates)} passed · ranked by {result.ranking} · {result.seconds:.1f} s · "
              f"{result.model}{' + adapter' if result.adapter else ''}")
