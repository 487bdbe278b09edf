"""`townsquare db ...`: see and upgrade the store's schema."""

from __future__ import annotations

import typer

from townsquare.cli import app, console
from townsquare.config import get_settings
from townsquare.store.db import current_revision, get_engine, head_revision

db_app = typer.Typer(help="Database: show status, apply migrations.", no_args_is_help=True)
app.add_typer(db_app, name="db")
out = console()


@db_app.command("upgrade")
def upgrade() -> None:
    """Create the database if needed and apply every migration (done automatically on first use)."""
    engine = get_engine()
    out.print(f"schema at revision {current_revision(engine)} ({engine.url.render_as_string(hide_password=True)})")


@db_app.command("status")
def status() -> None:
    """Show which database is configured and its schema revision."""
    url = get_settings().resolved_database_url
    engine = get_engine(url)
    out.print(f"database: {engine.url.render_as_string(hide_password=True)}")
    out.print(f"revision: {current_revision(engine)} (newest {head_revision()})")
