"""The `omnidrop` command: serve, keys, db."""

from __future__ import annotations

import typer

from omnidrop.cli import db_cmd, keys_cmd, serve_cmd

app = typer.Typer(help="omnidrop: ingest and processing server for 360° and immersive captures.", no_args_is_help=True, pretty_exceptions_enable=False)
app.command("serve")(serve_cmd.serve)
app.add_typer(keys_cmd.app, name="keys")
app.add_typer(db_cmd.app, name="db")

if __name__ == "__main__":
    app()
