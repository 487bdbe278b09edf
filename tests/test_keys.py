"""API keys: the library (hashed storage, roles, revocation) and the `townsquare keys` / CLI shell as a person runs it."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select

from townsquare.auth import KeyStore, role_can, split_key
from townsquare.errors import BadInput, NotFound
from townsquare.store.tables import ApiKeyRow


def test_keys_are_stored_hashed_and_verified(tmp_store):
    keys = KeyStore(tmp_store)
    key, raw = keys.create("analyst", "grafana")
    assert raw.startswith(f"ts_{key.prefix}_") and len(raw) > 40 and split_key(raw) == key.prefix
    with tmp_store.engine.connect() as conn:
        row = conn.execute(select(ApiKeyRow)).one()
    assert row.key_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in (row.name, row.prefix, row.key_hash, row.role)  # the raw key is never stored
    assert keys.verify(raw).id == key.id and keys.verify(f" {raw}\n").role == "analyst"
    assert keys.verify(raw[:-2] + "xx") is None
    assert keys.verify(f"ts_{key.prefix}") is None and keys.verify("") is None and keys.verify("ts_nope_x") is None
    keys.revoke(key.id)
    assert keys.verify(raw) is None and keys.revoke(key.id).revoked_at is not None  # idempotent
    with pytest.raises(BadInput, match="role: 'boss' is not a role — use one of admin, analyst, agent"):
        keys.create("boss")
    with pytest.raises(NotFound, match="key: no key with id 99"):
        keys.revoke(99)


def test_roles_permission_table():
    assert all(role_can("admin", p) for p in ("posts:write", "keys", "respond", "anything"))
    assert role_can("analyst", "posts:read") and role_can("analyst", "understand")
    assert not role_can("analyst", "posts:write") and not role_can("analyst", "respond")
    assert role_can("agent", "respond") and not role_can("agent", "keys") and not role_can("agent", "create")
    assert not role_can("nobody", "posts:read")


def test_keys_cli_create_list_revoke(tmp_store):
    from typer.testing import CliRunner

    from townsquare.cli import app

    def run_cli(*args):  # in-process: the subprocess path is covered by the tests below
        return CliRunner().invoke(app, list(args))

    created = run_cli("keys", "create", "--role", "analyst", "--name", "grafana")
    assert created.exit_code == 0, created.output
    raw = created.stdout.strip()
    assert raw.startswith("ts_") and "\n" not in raw  # stdout is the key alone: KEY=$(townsquare keys create ...)
    assert "cannot be shown again" in created.stderr
    key = KeyStore(tmp_store).verify(raw)
    assert key is not None and key.role == "analyst" and key.name == "grafana"

    listed = run_cli("keys", "list")
    assert listed.exit_code == 0 and f"ts_{key.prefix}_…" in listed.stdout and "grafana" in listed.stdout
    assert raw not in listed.stdout

    revoked = run_cli("keys", "revoke", str(key.id))
    assert revoked.exit_code == 0 and f"revoked key {key.id}" in revoked.stdout
    assert KeyStore(tmp_store).verify(raw) is None
    assert "grafana" not in run_cli("keys", "list", "--active").stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["keys", "create", "--role", "boss"], "error: role: 'boss' is not a role — use one of admin, analyst, agent"),
        (["keys", "revoke", "4242"], "error: key: no key with id 4242 — list the keys with `townsquare keys list`"),
        (["serve", "--port", "{busy}"], "error: --port: cannot listen on 127.0.0.1:{busy}"),
    ],
)
def test_bad_input_is_one_line_without_a_traceback(run_cli, tmp_store, args, message):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = str(busy.getsockname()[1])
        result = run_cli(*[a.replace("{busy}", port) for a in args])
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(message.replace("{busy}", port)), result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_debug_shows_the_traceback(run_cli, tmp_store):
    result = run_cli("--debug", "keys", "revoke", "4242")
    assert result.returncode != 0 and "Traceback" in result.stderr and "NotFound" in result.stderr


def test_help_lists_every_command_with_one_line_help(run_cli):
    import click
    import typer

    from townsquare.cli import app

    group = typer.main.get_command(app)
    names = sorted(group.list_commands(click.Context(group)))
    assert {"serve", "keys", "db"} <= set(names)
    result = run_cli("--help")
    assert result.returncode == 0
    for name in names:
        [line] = [ln for ln in result.stdout.splitlines() if ln.strip(" │").startswith(name + " ")]
        assert len(line.strip(" │")) > len(name) + 10, f"`{name}` has no one-line help: {line!r}"
    serve_help = run_cli("serve", "--help").stdout
    for option in ("--host", "--port", "--demo", "--workers"):
        assert option in serve_help
    flag = next(ln for ln in serve_help.splitlines() if "--demo" in ln)
    assert "<bool>" not in flag, f"a flag's help reads as if it took a value: {flag!r}"  # typer 0.29 did this


def test_the_demo_reuses_its_admin_key_from_a_private_file(tmp_store, tmp_path):
    from townsquare.cli.serve import DEMO_KEY_FILE, demo_admin_key

    first = demo_admin_key(tmp_store, tmp_path)
    path = tmp_path / DEMO_KEY_FILE
    assert path.stat().st_mode & 0o777 == 0o600 and path.read_text().strip() == first
    assert demo_admin_key(tmp_store, tmp_path) == first  # a restart prints the same key
    keys = KeyStore(tmp_store)
    assert keys.verify(first).role == "admin"
    keys.revoke(keys.verify(first).id)
    second = demo_admin_key(tmp_store, tmp_path)  # a revoked demo key is replaced, not reused
    assert second != first and keys.verify(second).role == "admin"
