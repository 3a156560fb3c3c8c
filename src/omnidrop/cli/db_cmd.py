"""`omnidrop db upgrade`."""

from __future__ import annotations

from pathlib import Path

import typer

from omnidrop.cli.runtime import apply_data_dir, migrate

app = typer.Typer(help="Database schema.", no_args_is_help=True, pretty_exceptions_enable=False)


@app.command()
def upgrade(data_dir: Path | None = typer.Option(None, envvar="OMNIDROP_DATA_DIR")) -> None:
    """Apply migrations up to the newest schema (`omnidrop serve` does this by itself)."""
    settings = apply_data_dir(data_dir)
    migrate(settings)
    typer.echo("schema is up to date")
