"""Options every client command shares (server, credentials, output mode) and building the Client."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import typer

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from omnidrop.cli.client_output import Output

UrlOpt = typer.Option(None, "--url", help="Server URL (env OMNIDROP_URL, else the config file, else http://127.0.0.1:8000).")
KeyOpt = typer.Option(None, "--key", help="API key (env OMNIDROP_API_KEY, else the config file).")
TokenOpt = typer.Option(None, "--token", help="Login token instead of a key (env OMNIDROP_TOKEN, else the config file).")
QuietOpt = typer.Option(False, "--quiet", "-q", help="Print only errors (and the result).")
JsonOpt = typer.Option(False, "--json", help="Print one JSON document on stdout; no progress.")
ParallelOpt = typer.Option(4, "--parallel", "-P", min=1, max=64, help="Files (and parts) sent at once.")
StateOpt = typer.Option(None, "--state", help="Resume state file (env OMNIDROP_STATE_FILE, else ~/.local/state/omnidrop/uploads.json).")
FreshOpt = typer.Option(False, "--fresh", help="Ignore saved resume state and start new uploads.")

SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b?)\s*$", re.IGNORECASE)


def parse_size(text: str) -> int:
    """`8MiB`, `8M`, `8mb` (all binary), `1048576`."""
    m = SIZE.match(text)
    if not m:
        raise typer.BadParameter(f"{text!r} is not a size (e.g. 8MiB, 512K, 1048576)")
    number, unit = float(m.group(1)), m.group(2).lower()
    value = int(number * 1024 ** " kmgt".index(unit or " "))
    if value < 1:
        raise typer.BadParameter("the size must be at least 1 byte")
    return value


@dataclass
class Common:
    url: str | None
    key: str | None
    token: str | None
    output: Output

    def client(self, parallel: int = 4):
        from omnidrop.client import Client, RetryPolicy

        notes = self.output
        raw = os.environ.get("OMNIDROP_CLIENT_RETRIES", "10")
        if not raw.isdigit() or int(raw) < 1:
            raise typer.BadParameter(f"OMNIDROP_CLIENT_RETRIES must be a whole number >= 1, got {raw!r}")
        return Client(self.url, self.key, token=self.token, parallel=parallel, retry=RetryPolicy(attempts=int(raw)),
                      on_retry=lambda msg: notes.warn(msg) if not notes.quiet else None)

    def state(self, path: Path | None):
        from omnidrop.client import StateFile

        return StateFile(path)


def common(url: str | None, key: str | None, token: str | None, quiet: bool, json_mode: bool) -> Common:
    # Rich's progress and httpx load only when a client command runs: `omnidrop serve` stays lean.
    from omnidrop.cli.client_output import Output

    return Common(url, key, token, Output(quiet=quiet, json_mode=json_mode))
