"""The `omnidrop` command: serve, worker, keys, owners, db, storage; and the client: login, upload, status, vehicle,
walkthrough, capture, video."""

from __future__ import annotations

import typer

from omnidrop.cli import db_cmd, keys_cmd, owners_cmd, serve_cmd, storage_cmd, users_cmd, worker_cmd
from omnidrop.cli import capture_cmd, login_cmd, upload_cmd, vehicle_cmd, walkthrough_cmd

app = typer.Typer(help="omnidrop: ingest and processing server for 360° and immersive captures.", no_args_is_help=True, pretty_exceptions_enable=False)
app.command("serve")(serve_cmd.serve)
app.command("worker")(worker_cmd.worker)
app.add_typer(keys_cmd.app, name="keys")
app.add_typer(owners_cmd.app, name="owners")
app.add_typer(users_cmd.app, name="users")
app.add_typer(db_cmd.app, name="db")
app.add_typer(storage_cmd.app, name="storage")
# The client commands: they talk to a server over HTTP and import only omnidrop.client.
app.command("login")(login_cmd.login)
app.command("upload")(upload_cmd.upload)
app.command("status")(upload_cmd.status)
app.add_typer(vehicle_cmd.app, name="vehicle")
app.add_typer(walkthrough_cmd.app, name="walkthrough")
app.add_typer(capture_cmd.capture_app, name="capture")
app.add_typer(capture_cmd.video_app, name="video")

if __name__ == "__main__":
    app()
