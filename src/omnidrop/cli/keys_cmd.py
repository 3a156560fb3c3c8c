"""`omnidrop keys create|list|revoke`."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from omnidrop.auth.scopes import ALL_SCOPES, DEFAULT_SCOPES
from omnidrop.cli.runtime import apply_data_dir, database_label, existing_database, migrate, with_services

app = typer.Typer(help="Manage API keys.", no_args_is_help=True, pretty_exceptions_enable=False)
DataDir = typer.Option(None, envvar="OMNIDROP_DATA_DIR", help="Where the SQLite file and blobs live.")
InitDb = typer.Option(False, "--init-db", help="Create the database when it does not exist yet (otherwise refused: "
                                               "a key in a new database is unknown to a server using another).")


@app.command()
def create(
    name: str = typer.Option(..., help="A label for the key."),
    scope: list[str] = typer.Option(list(DEFAULT_SCOPES), help=f"Scopes: {', '.join(ALL_SCOPES)}. Repeatable."),
    owner: str = typer.Option("default", help="Owner of the key; created if new."),
    data_dir: Path | None = DataDir,
    init_db: bool = InitDb,
) -> None:
    """Create a key and print it once: it is stored only as a hash."""
    from omnidrop.auth.keys import UnknownScope

    settings = existing_database(data_dir, init_db, "key")
    try:
        token, record = with_services(settings, lambda s: s.keys.create(name, scope, owner))
    except UnknownScope as exc:
        raise typer.BadParameter(f"unknown scope: {exc}", param_hint="--scope") from None
    typer.echo(f"created key {record.id} ({record.prefix}…) for {owner} with {' '.join(record.scopes)} "
               f"in {database_label(settings)}", err=True)
    typer.echo(token)


@app.command("list")
def list_keys(data_dir: Path | None = DataDir) -> None:
    """List keys (never the secrets)."""
    from rich.console import Console
    from rich.table import Table

    settings = apply_data_dir(data_dir)
    migrate(settings)
    records = with_services(settings, lambda s: s.keys.list())
    table = Table("id", "prefix", "name", "owner", "scopes", "created", "revoked")
    for r in records:
        table.add_row(r.id, r.prefix + "…", r.name, r.owner, " ".join(r.scopes), r.created_at.isoformat(timespec="seconds"),
                      r.revoked_at.isoformat(timespec="seconds") if r.revoked_at else "")
    # Off a terminal Rich assumes 80 columns and would cut ids and prefixes that scripts need.
    Console(width=None if sys.stdout.isatty() else 200).print(table)


@app.command()
def revoke(key: str = typer.Argument(..., help="Key id or prefix."), data_dir: Path | None = DataDir) -> None:
    """Revoke a key: it stops working at once."""
    settings = apply_data_dir(data_dir)
    migrate(settings)
    if not with_services(settings, lambda s: s.keys.revoke(key)):
        typer.echo(f"no active key {key!r}", err=True)
        raise typer.Exit(1)
    typer.echo(f"revoked {key}")
