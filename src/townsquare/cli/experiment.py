"""`townsquare experiment create|list|report|simulate|log|stop|delete`: A/B tests over the store."""

from __future__ import annotations

import orjson
import typer
from rich.table import Table

from townsquare.cli import app, console, user_ids
from townsquare.errors import BadInput

exp_app = typer.Typer(help="A/B tests: hashed assignment, exposure/outcome logging, significance reports.",
                      no_args_is_help=True)
app.add_typer(exp_app, name="experiment")
out = console(highlight=False, soft_wrap=True)


def _store():
    from townsquare.store import Store

    return Store()


WEIGHT_SLACK = 1e-6  # float error in a sum of decimal weights (0.1 + 0.2 + 0.7)


def parse_arms(text: str):
    """"control:0.5,treatment:0.5" (weights optional, equal by default) -> arms. Fractions (every weight below 1)
    are shares and must sum to 1: silently rescaling 0.7 + 0.5 would run a 58/42 split nobody asked for. Other
    weights are ratios (a:1,b:3 is 25%/75%); `create` prints the split either way."""
    from townsquare.experiment import Arm

    arms, given = [], []
    for part in (p.strip() for p in text.split(",") if p.strip()):
        name, _, weight = part.partition(":")
        try:
            arms.append(Arm(name.strip(), float(weight) if weight.strip() else 1.0))
        except ValueError:
            raise BadInput("--arms", f"weight {weight!r} of arm {name!r} is not a number",
                           'write arms as "control:0.5,treatment:0.5"') from None
        given.append(bool(weight.strip()))
    if any(given):
        if not all(given):
            raise BadInput("--arms", "some arms have a weight and some do not",
                           "give every arm a weight, e.g. control:0.7,treatment:0.3, or none for equal arms")
        total = sum(a.weight for a in arms)
        if all(a.weight < 1 for a in arms) and abs(total - 1.0) > WEIGHT_SLACK:
            raise BadInput("--arms", f"the weights sum to {total:g}, not 1",
                           "give shares that add up to 1, e.g. control:0.5,treatment:0.5 (or ratios, e.g. "
                           "control:1,treatment:3)")
    return arms


def parse_metrics(text: str) -> list[dict]:
    """"engaged:rate:engagement,revenue:mean" (kind defaults to rate, event to the metric's name) -> metrics."""
    out_ = []
    for part in (p.strip() for p in text.split(",") if p.strip()):
        bits = [b.strip() for b in part.split(":")]
        if len(bits) > 3:
            raise BadInput("--metrics", f"{part!r} has too many parts", 'write name[:rate|mean[:event]], e.g. '
                           '"engaged:rate:engagement"')
        out_.append({"name": bits[0], "kind": bits[1] if len(bits) > 1 and bits[1] else "rate",
                     "event": bits[2] if len(bits) > 2 and bits[2] else bits[0]})
    return out_


@exp_app.command("create")
def create(
    name: str = typer.Argument(..., help="A plain name, e.g. feed-ranker-v2 (it seeds the assignment hash)."),
    arms: str = typer.Option("control:0.5,treatment:0.5", "--arms", help="Arms with weights; the first is the "
                             "control. Fractional weights must sum to 1; others are ratios (a:1,b:3)."),
    metrics: str = typer.Option("engaged:rate:engagement,engagements:mean:engagement", "--metrics",
                                help="name:rate|mean:event, comma-separated."),
    description: str = typer.Option("", "--description", help="What is being tested."),
) -> None:
    """Create a running experiment."""
    from townsquare.experiment import create_experiment

    exp = create_experiment(_store(), name, parse_arms(arms), parse_metrics(metrics), description=description)
    out.print(f"experiment {exp.name} created: arms {', '.join(f'{a.name} {a.weight:.0%}' for a in exp.arms)}; "
              f"metrics {', '.join(m['name'] + ' (' + m['kind'] + ')' for m in exp.metrics)}")


@exp_app.command("list")
def list_(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Experiments, newest first, with how many users each has exposed."""
    from townsquare.experiment import list_experiments
    from townsquare.experiment.report import exposed_counts

    store = _store()
    exps = list_experiments(store)
    counts = exposed_counts(store)
    if as_json:
        typer.echo(orjson.dumps([e.to_dict() | {"users": counts.get(e.id, 0)} for e in exps]).decode())
        return
    if not exps:
        out.print("no experiments yet — create one with `townsquare experiment create NAME`, or run "
                  "`townsquare experiment simulate` on the demo world")
        return
    table = Table("name", "status", "arms", "metrics", "users", "created (UTC)", box=None)
    for e in exps:
        table.add_row(e.name + (" (simulated)" if e.meta.get("simulated") else ""), e.status,
                      ", ".join(a.name for a in e.arms), ", ".join(m["name"] for m in e.metrics),
                      f"{counts.get(e.id, 0):,}", f"{e.created_at:%Y-%m-%d %H:%M}")
    out.print(table)


@exp_app.command("report")
def report(
    name: str = typer.Argument(..., help="The experiment's name."),
    alpha: float = typer.Option(0.05, "--alpha", help="Significance level (intervals are 1 - alpha)."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Per-arm means, lift, intervals, p-values and the sample-ratio check."""
    from townsquare.experiment import report as build
    from townsquare.experiment.report import render_text

    if not 0 < alpha < 0.5:
        raise BadInput("--alpha", f"{alpha} is not a significance level", "use e.g. 0.05")
    rep = build(_store(), name, alpha)
    typer.echo(orjson.dumps(rep).decode() if as_json else render_text(rep))


@exp_app.command("assign")
def assign(
    name: str = typer.Argument(..., help="The experiment's name."),
    users: str = typer.Argument(..., help="User ids, comma-separated."),
    log: bool = typer.Option(False, "--log", help="Also record them as exposed."),
) -> None:
    """Which arm each user is in (computed from the hash; --log records the exposure)."""
    from townsquare.experiment import log_exposures, require_experiment

    store = _store()
    exp = require_experiment(store, name)
    ids = user_ids(users, "users")
    arms = log_exposures(store, exp, ids) if log else {u: exp.arm_of(u) for u in ids}
    for u, a in arms.items():
        typer.echo(f"{u}\t{a}")


@exp_app.command("outcome")
def outcome(
    name: str = typer.Argument(..., help="The experiment's name."),
    user: int = typer.Argument(..., help="The user's id."),
    event: str = typer.Argument(..., help="The event, one the experiment's metrics count (e.g. engagement)."),
    value: float = typer.Option(1.0, "--value", help="How much (e.g. 1 engagement)."),
) -> None:
    """Record one outcome of an exposed user."""
    from townsquare.experiment import log_outcomes

    log_outcomes(_store(), name, [(user, event, value)])
    out.print(f"recorded {event} = {value:g} for user {user} in {name}")


@exp_app.command("stop")
def stop(name: str = typer.Argument(..., help="The experiment's name.")) -> None:
    """Stop an experiment: no more exposures are logged; the report stays."""
    from townsquare.experiment import set_status

    set_status(_store(), name, "stopped")
    out.print(f"experiment {name} stopped")


@exp_app.command("delete")
def delete(name: str = typer.Argument(..., help="The experiment's name.")) -> None:
    """Delete an experiment with its exposures and outcomes."""
    from townsquare.experiment import delete_experiment

    if not delete_experiment(_store(), name):
        raise BadInput("name", f"no experiment named {name!r}", "list them with `townsquare experiment list`")
    out.print(f"experiment {name} deleted")


@exp_app.command("simulate")
def simulate(
    name: str = typer.Option("feed-ranker-simulated", "--name", help="Experiment to (re)create."),
    users: int = typer.Option(1_000, "--users", help="How many of the world's people to sample."),
    k: int = typer.Option(20, "--k", help="Feed length shown to each user."),
    seed: int = typer.Option(None, "--seed", help="The loaded world's seed (as in `townsquare world load`).",
                             show_default="the demo's world, else 7"),
    posts: int = typer.Option(None, "--posts", help="The loaded world's posts.",
                               show_default="the demo's, else 30000"),
    authors: int = typer.Option(None, "--authors", help="The loaded world's authors.", show_default="3000"),
    sim_seed: int = typer.Option(0, "--sim-seed", help="Seed of the simulated reactions and the user sample."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Simulated A/B test on the loaded sample world: ranked vs chronological feeds, reactions drawn from the
    world's own engagement model (simulated, not observed), then the report."""
    from townsquare.experiment import report as build
    from townsquare.experiment.report import render_text
    from townsquare.experiment.simulate import demo_world, simulate_feed_test

    store = _store()
    cfg = demo_world(seed, posts, authors)
    summary = simulate_feed_test(store, cfg, name=name, users=users, k=k, seed=sim_seed)
    rep = build(store, name)
    if as_json:
        typer.echo(orjson.dumps(rep).decode())
        return
    fewer = f" (asked for {users:,}: the world has no more people)" if summary["users"] < users else ""
    out.print(f"simulated {summary['users']:,} users{fewer} in {summary['seconds']:.1f} s (ranker: "
              f"{summary['ranker']}; mean feed length {summary['mean_feed_length']})\n")
    typer.echo(render_text(rep))
