"""Options every client command shares (server, credentials, output mode, resume state) and building the Client.

The options are `Annotated` aliases: a command declares `parallel: Parallel = 4` and gets the same flag and help.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from omnidrop.cli.client_output import Output

Url = Annotated[str | None, typer.Option("--url", help="Server URL (env OMNIDROP_URL, else the config file, else http://127.0.0.1:8000).")]
Key = Annotated[str | None, typer.Option("--key", help="API key (env OMNIDROP_API_KEY, else the config file).")]
Token = Annotated[str | None, typer.Option("--token", help="Login token instead of a key (env OMNIDROP_TOKEN, else the config file).")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="Print only errors (and the result).")]
Json = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout; no progress.")]
Parallel = Annotated[int, typer.Option("--parallel", "-P", min=1, max=64, help="Files (and parts) sent at once.")]
StatePath = Annotated[Path | None, typer.Option("--state", help="Resume state file (env OMNIDROP_STATE_FILE, else ~/.local/state/omnidrop/uploads.json).")]
Fresh = Annotated[bool, typer.Option("--fresh", help="Ignore saved resume state and start new uploads.")]

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
    """What a client command body works with: the server and credentials as given, and its Output."""

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

