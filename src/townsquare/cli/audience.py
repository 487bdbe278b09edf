"""`townsquare audience segments|lookalike|match|promote|promoted|stop`: audiences for promoted posts."""

from __future__ import annotations

import orjson
import typer
from rich.table import Table

from townsquare.cli import app, console, plural, user_ids

aud_app = typer.Typer(help="Audiences: interest segments, look-alikes, matching and promoting posts.",
                      no_args_is_help=True)
app.add_typer(aud_app, name="audience")
out = console(highlight=False, soft_wrap=True)
_JSON = typer.Option(False, "--json", help="Print JSON.")


def _store():
    from townsquare.store import Store

    return Store()


def _echo_json(data) -> None:
    typer.echo(orjson.dumps(data).decode())


@aud_app.command("segments")
def segments(
    k: int = typer.Option(None, "--k", help="How many segments.",
                         show_default="chosen by silhouette, up to 12"),
    users: bool = typer.Option(False, "--users", help="With --json: list every member's id."),
    as_json: bool = _JSON,
) -> None:
    """Cluster users by their interest vectors; each segment labelled by its members' most distinctive words."""
    from townsquare.recommend.audiences import segments as build

    segs = build(_store(), k)
    if as_json:
        _echo_json([s.to_dict(with_users=users) for s in segs])
        return
    if not segs:
        out.print("no users with history yet — load posts and interactions, then `townsquare analyze --store`")
        return
    table = Table("id", "label", "users", "share", "declared interests", "languages", "examples", box=None)
    for s in segs:
        table.add_row(str(s.id), s.label, f"{s.size:,}", f"{s.share:.0%}", ", ".join(s.declared),
                      ", ".join(f"{k} {v}" for k, v in s.langs.items()), ", ".join("@" + e for e in s.examples[:3]))
    out.print(table)


def _users_table(rows: list[dict], extra: tuple[str, ...] = ()) -> Table:
    table = Table("user", "score", *extra, box=None)
    for r in rows:
        table.add_row(str(r["user_id"]), f"{r['score']:.3f}", *(str(r[c]) for c in extra))
    return table


@aud_app.command("lookalike")
def lookalike(
    seed: str = typer.Option(..., "--seed", help="Ids of users like the audience wanted, comma-separated."),
    k: int = typer.Option(100, "--k", help="How many look-alike users."),
    as_json: bool = _JSON,
) -> None:
    """The users closest in interests to a seed list (the seed users themselves left out)."""
    from townsquare.recommend.audiences import lookalike as build

    res = build(_store(), user_ids(seed, "--seed"), k)
    if as_json:
        _echo_json(res)
        return
    if res["seed_unknown"]:
        out.print(f"left out unknown user ids: {', '.join(map(str, res['seed_unknown']))}")
    if res["seed_without_history"]:
        out.print(f"left out seed users without history: {', '.join(map(str, res['seed_without_history']))}")
    out.print(_users_table(res["users"]))
    out.print(f"{plural(len(res['users']), 'look-alike')} of {plural(res['seed_used'], 'seed user')}")


@aud_app.command("match")
def match(
    post_id: int = typer.Argument(..., help="The post to promote (its stored id)."),
    k: int = typer.Option(20, "--k", help="How many users."),
    as_json: bool = _JSON,
) -> None:
    """The users most likely to engage with a post: interest similarity, then activity."""
    from townsquare.recommend.audiences import match as build

    rows = build(_store(), post_id, k)
    if as_json:
        _echo_json(rows)
        return
    out.print(_users_table(rows, ("similarity", "activity")))


@aud_app.command("promote")
def promote(
    post_id: int = typer.Argument(..., help="The post to promote (its stored id)."),
    audience: int = typer.Option(1_000, "--audience", help="How many best-matching users to show it to."),
    cap: int = typer.Option(3, "--cap", help="At most this many impressions per user ..."),
    cap_hours: int = typer.Option(24, "--cap-hours", help="... in this many hours."),
    name: str = typer.Option("", "--name", help="A label shown with the promoted item."),
    as_json: bool = _JSON,
) -> None:
    """Promote a post: match its audience now; feeds then mix it in at the set rate, marked promoted."""
    from townsquare.recommend.promoted import default_rate
    from townsquare.recommend.promoted import promote as run

    p = run(_store(), post_id, audience=audience, cap=cap, cap_hours=cap_hours, name=name)
    if as_json:
        _echo_json(p)
        return
    out.print(f"promotion {p['id']}: post {p['post_id']} to {plural(p['audience'], 'user')}, at most "
              f"{plural(p['cap'], 'impression')} per user per {p['cap_hours']} h; feeds carry promoted posts in {default_rate():.0%} of slots")


@aud_app.command("promoted")
def promoted(active: bool = typer.Option(False, "--active", help="Only running promotions."),
             as_json: bool = _JSON) -> None:
    """Promotions with their audience size, impressions and reach."""
    from townsquare.recommend.promoted import list_promotions

    rows = list_promotions(_store(), active_only=active)
    if as_json:
        _echo_json(rows)
        return
    if not rows:
        out.print("no promotions yet — `townsquare audience promote POST_ID`")
        return
    table = Table("id", "post", "name", "active", "audience", "impressions", "reach", "cap", box=None)
    for r in rows:
        table.add_row(str(r["id"]), str(r["post_id"]), r["name"], "yes" if r["active"] else "no",
                      f"{r['audience']:,}", f"{r['impressions']:,}", f"{r['reach']:,}",
                      f"{r['cap']} / {r['cap_hours']} h")
    out.print(table)


@aud_app.command("stop")
def stop(promoted_id: int = typer.Argument(..., help="The promotion's id.")) -> None:
    """Stop a promotion: feeds stop carrying it."""
    from townsquare.recommend.promoted import stop_promotion

    p = stop_promotion(_store(), promoted_id)
    out.print(f"promotion {p['id']} stopped after {plural(p['impressions'], 'impression')} to "
              f"{plural(p['reach'], 'user')}")
