"""`omnidrop login`: check a server URL and credentials, then keep them in the client config file."""

from __future__ import annotations

from pathlib import Path

import typer

from omnidrop.cli.client_command import guarded
from omnidrop.cli.client_common import Json, Quiet


def login(
    url: str = typer.Option(..., "--url", prompt="Server URL", help="The omnidrop server, e.g. https://drop.example.com."),
    key: str | None = typer.Option(None, "--key", help="An API key (`omnidrop keys create` on the server)."),
    username: str | None = typer.Option(None, "--username", help="Log in as a user (POST /auth/login) for a token."),
    password: str | None = typer.Option(None, "--password", help="The user's password (asked for when not given)."),
    config: Path | None = typer.Option(None, "--config", help="Config file (env OMNIDROP_CLIENT_CONFIG, else ~/.config/omnidrop/client.toml)."),
    quiet: Quiet = False, json_mode: Json = False,
) -> None:
    """Save the server URL and a key (or a login token) for the other client commands."""
    from omnidrop.cli.client_output import Output
    from omnidrop.client import Client, ClientConfig
    from omnidrop.client.errors import ApiError, ConfigError

    out = Output(quiet=quiet, json_mode=json_mode)
    if not key and not username:
        key = typer.prompt("API key", hide_input=True)
    if username and not password:
        password = typer.prompt("Password", hide_input=True)

    def work() -> None:
        cfg = ClientConfig.load(config)
        cfg.url = url.rstrip("/")
        with Client(url, key or "") as client:
            if key:
                # Any authenticated route will do: 401 means the key is wrong, anything else that it works.
                try:
                    client.uploads.project("omnidrop-login-check")
                except ApiError as exc:
                    if exc.status == 401:
                        raise
                cfg.api_key = key
            if username:
                issued = client.walkthrough.login(username, password or "")
                cfg.token, cfg.token_expires_at, cfg.username = issued["token"], issued.get("expires_at"), username
        if not cfg.api_key and not cfg.token:
            raise ConfigError("nothing to save")
        path = cfg.save(config)
        out.result(f"saved {cfg.url} to {path}", {"ok": True, "url": cfg.url, "config": str(path),
                                                  "api_key": bool(cfg.api_key), "token": bool(cfg.token),
                                                  "token_expires_at": cfg.token_expires_at})

    guarded(out, work)
