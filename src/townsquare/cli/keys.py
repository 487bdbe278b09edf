"""`townsquare keys ...`: create, list and revoke API keys (stored hashed; a raw key is shown once)."""

from __future__ import annotations

import typer
from rich.table import Table

from townsquare.auth import KeyStore
from townsquare.cli import app, console
from townsquare.schema import ROLES

keys_app = typer.Typer(help="API keys: create (admin, analyst, agent, customer), list, revoke.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
out = console(highlight=False)


@keys_app.command("create")
def create(
    role: str = typer.Option(..., "--role", "-r", help=f"One of: {', '.join(ROLES)}."),
    name: str = typer.Option("", "--name", "-n", help="A label to recognise the key by, e.g. 'grafana'."),
) -> None:
    """Create an API key and print it once (only its hash is stored)."""
    key, raw = KeyStore().create(role, name)
    typer.echo(raw)  # stdout holds the key alone: KEY=$(townsquare keys create --role analyst)
    may = ", ".join(key.permissions)
    typer.echo(f"created key {key.id} ({key.role}{', ' + name if name else ''}; may: {may}). "
               "Store it now: it cannot be shown again.", err=True)


@keys_app.command("list")
def list_keys(
    active: bool = typer.Option(False, "--active", help="Hide revoked keys."),
) -> None:
    """List API keys: id, name, prefix, role, created, revoked (never the secret)."""
    keys = KeyStore().list(include_revoked=not active)
    if not keys:
        out.print("no API keys yet — create one with `townsquare keys create --role analyst`")
        return
    table = Table("id", "name", "prefix", "role", "created (UTC)", "revoked (UTC)", box=None)
    for k in keys:
        table.add_row(str(k.id), k.name, f"ts_{k.prefix}_…", k.role, f"{k.created_at:%Y-%m-%d %H:%M}",
                      f"{k.revoked_at:%Y-%m-%d %H:%M}" if k.revoked_at else "")
    out.print(table)


@keys_app.command("revoke")
def revoke(key_id: int = typer.Argument(..., help="The key's id, from `townsquare keys list`.")) -> None:
    """Revoke an API key; it stops working on its next request."""
    key = KeyStore().revoke(key_id)
    out.print(f"revoked key {key.id} ({key.role}{', ' + key.name if key.name else ''})")
