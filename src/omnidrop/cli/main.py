"""The `omnidrop` command: serve, worker, keys, owners, db."""

from __future__ import annotations

import typer

from omnidrop.cli import db_cmd, keys_cmd, owners_cmd, serve_cmd, users_cmd, worker_cmd

app = typer.Typer(help="omnidrop: ingest and processing server for 360° and immersive captures.", no_args_is_help=True, pretty_exceptions_enable=False)
app.command("serve")(serve_cmd.serve)
app.command("worker")(worker_cmd.worker)
app.add_typer(keys_cmd.app, name="keys")
app.add_typer(owners_cmd.app, name="owners")
app.add_typer(users_cmd.app, name="users")
app.add_typer(db_cmd.app, name="db")

if __name__ == "__main__":
    app()
