"""`townsquare chat`: talk to the assistant in the terminal; `townsquare handoffs ...` and `townsquare corrections
...`: the agent's side (the queue of hand-offs, and the review of corrections)."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.text import Text

from townsquare.cli import app, console, plural
from townsquare.errors import BadInput

out = console(highlight=False, soft_wrap=True)
_ASSISTANT = ("assistant>", "bold cyan")
handoffs_app = typer.Typer(help="Hand-offs to a person: list, show, reply, close.", no_args_is_help=True)
corrections_app = typer.Typer(help="Corrections of the assistant: list, add, approve, reject, export.",
                              no_args_is_help=True)
app.add_typer(handoffs_app, name="handoffs")
app.add_typer(corrections_app, name="corrections")


def _store():
    from townsquare.store import Store

    return Store()


def _assistant(store, demo: bool):
    from townsquare.respond.assistant import get_assistant
    from townsquare.respond.demo import kb_is_empty, prepare_demo

    if demo:
        out.print(prepare_demo(store, warm=False), style="dim")
    elif kb_is_empty(store):
        raise BadInput("knowledge base", "is empty, so the assistant has nothing to answer from",
                       "add documents with `townsquare kb add PATH`, or run `townsquare chat --demo`")
    return get_assistant(store)


def _show(result: dict) -> None:
    reply = result.get("reply")
    if reply is not None:
        out.print(Text.assemble(_ASSISTANT, " ", reply["text"]))
        meta = reply["meta"]
        bits = [f"intent {meta.get('intent') or '-'} ({meta.get('intent_confidence', 0):.2f})",
                f"match {meta.get('retrieval_score', 0):.2f}", f"{meta.get('timings_ms', {}).get('total', 0):.0f} ms"]
        if meta.get("refused"):
            bits.append("refused: " + meta.get("injection_reason", ""))
        out.print(f"  {' · '.join(bits)}", style="dim")
    if result.get("notice"):
        out.print(Text.assemble(_ASSISTANT, " ", result["notice"]))
    if result.get("handoff"):
        h = result["handoff"]
        out.print(f"  handed off to a person (hand-off {h['id']}: {h['reason_text']})", style="yellow")


@app.command("chat")
def chat(
    message: str = typer.Option(None, "--message", "-m", help="Send one message, print the answer and exit."),
    conversation: int = typer.Option(None, "--conversation", "-c", help="Continue this conversation."),
    demo: bool = typer.Option(False, "--demo", help="Load the demo knowledge base (Acme) first."),
    as_json: bool = typer.Option(False, "--json", help="Print the whole result as JSON (with --message)."),
) -> None:
    """Chat with the customer-service assistant (answers cite the knowledge base; /quit to leave)."""
    from townsquare.respond import conversations as convs
    from townsquare.respond.assistant import check_message

    if message is not None:
        check_message(message)  # before a conversation is created for a message that would be refused
    store = _store()
    assistant = _assistant(store, demo)
    viewer = convs.Viewer.staff()
    conv_id = conversation if conversation is not None else convs.create(store, viewer, "cli")["id"]
    convs.check(store, conv_id, viewer)
    if message is not None:
        result = assistant.reply(conv_id, message, viewer)
        if as_json:
            typer.echo(json.dumps(result, ensure_ascii=False, indent=1))
        else:
            _show(result)
            out.print(f"conversation {conv_id}: continue with --conversation {conv_id}", style="dim")
        return
    out.print(f"conversation {conv_id} — ask about orders, returns, shipping, warranty or your account "
              "(English or 中文); /quit to leave")
    while True:
        try:
            text = input("you> ")
        except (EOFError, KeyboardInterrupt):
            out.print()
            break
        if text.strip() in ("/quit", "/exit", "/q"):
            break
        if not text.strip():
            continue
        try:
            _show(assistant.reply(conv_id, text, viewer))
        except BadInput as exc:
            out.print(str(exc), style="red")


@handoffs_app.command("list")
def handoffs_list(status: str = typer.Option("open", "--status", help="open, closed or all.")) -> None:
    """The hand-off queue, oldest first: reason and the conversation's first question."""
    from townsquare.respond import handoff

    if status not in ("open", "closed", "all"):
        raise BadInput("--status", f"{status!r} is not a status", "use open, closed or all")
    rows = handoff.list_handoffs(_store(), None if status == "all" else status)
    if not rows:
        out.print(f"no {status if status != 'all' else ''} hand-offs".replace("  ", " "))
    for h in rows:
        out.print(Text.assemble((f"#{h['id']}", "bold"), f" conversation {h['conversation_id']} · {h['status']} · "
                                f"{h['reason_text']} · {h['created_at']}\n  {h['title']}"))


@handoffs_app.command("show")
def handoffs_show(handoff_id: int = typer.Argument(...)) -> None:
    """The summary for the agent and the whole conversation."""
    from townsquare.respond import handoff

    h = handoff.get(_store(), handoff_id, with_conversation=True)
    out.print(Text.assemble((f"hand-off #{h['id']}", "bold"), f" ({h['status']})\n{h['summary']}\n"))
    for m in h["conversation"]["messages"]:
        out.print(Text.assemble((f"{m['role']}>", "bold"), " ", m["text"]))


@handoffs_app.command("reply")
def handoffs_reply(handoff_id: int = typer.Argument(...), text: str = typer.Argument(...)) -> None:
    """Answer the customer as an agent (the reply goes into their conversation)."""
    from townsquare.respond import handoff

    msg = handoff.reply(_store(), handoff_id, text)
    out.print(f"sent to conversation {msg['conversation_id']} (message {msg['id']})")


@handoffs_app.command("close")
def handoffs_close(handoff_id: int = typer.Argument(...)) -> None:
    """Close the hand-off; the assistant answers the conversation again."""
    from townsquare.respond import handoff

    store = _store()
    if handoff.get(store, handoff_id)["status"] == "closed":
        out.print(f"hand-off #{handoff_id} was already closed")
        return
    h = handoff.close(store, handoff_id)
    out.print(f"hand-off #{h['id']} is {h['status']}")


@corrections_app.command("list")
def corrections_list(status: str = typer.Option("pending", "--status", help="pending, approved, rejected, all.")):
    """Corrections waiting for review (or by another status)."""
    from townsquare.respond import feedback

    rows = feedback.list_corrections(_store(), None if status == "all" else status)
    if not rows:
        out.print(f"no {status} corrections")
    for c in rows:
        what = c["answer"] if c["target"] == "faq" else f"intent → {c['intent']}"
        out.print(Text.assemble((f"#{c['id']}", "bold"), f" {c['target']} · {c['status']} · {c['lang']}\n  Q: {c['question']}\n"
                                f"  A: {what}"))


@corrections_app.command("add")
def corrections_add(
    question: str = typer.Option(..., "--question", "-q"),
    answer: str = typer.Option("", "--answer", "-a", help="The answer the assistant should give (target faq)."),
    intent: str = typer.Option("", "--intent", help="The question's intent (target intent)."),
    lang: str = typer.Option("", "--lang", help="en or zh (default: detected)."),
) -> None:
    """Propose a correction (an FAQ answer with --answer, or an intent example with --intent)."""
    from townsquare.respond import feedback

    target = "intent" if intent and not answer else "faq"
    c = feedback.correct(_store(), question=question, answer=answer, intent=intent, lang=lang, target=target)
    out.print(f"correction #{c['id']} ({c['target']}) waits for review: townsquare corrections approve {c['id']}")


@corrections_app.command("approve")
def corrections_approve(correction_id: int = typer.Argument(...)) -> None:
    """Approve: an FAQ answer joins the knowledge base, an intent example the intent model."""
    from townsquare.respond import feedback

    c = feedback.review(_store(), correction_id, True)
    out.print(f"correction #{c['id']} approved")


@corrections_app.command("reject")
def corrections_reject(correction_id: int = typer.Argument(...),
                       note: str = typer.Option("", "--note", help="Why, for the agent who wrote it.")) -> None:
    from townsquare.respond import feedback

    c = feedback.review(_store(), correction_id, False, note=note)
    out.print(f"correction #{c['id']} rejected")


@corrections_app.command("export")
def corrections_export(output: Path = typer.Option(..., "--output", "-o", help="JSONL file to write.")) -> None:
    """Approved corrections as fine-tuning pairs for `townsquare finetune train --pairs FILE`."""
    from townsquare.respond import feedback

    n = feedback.export_finetune(_store(), output)
    out.print(f"wrote {plural(n, 'training pair')} to {output}")
