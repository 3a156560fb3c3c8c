"""How the upload commands talk to people and scripts: Rich progress, --quiet, --json, exit codes.

Progress and messages go to stderr, results to stdout (one JSON document with --json), so
`omnidrop upload … --json | jq` works. Exit codes say what failed:

| code | meaning |
|---:|---|
| 0 | done |
| 1 | unexpected error (a bug: please report it) |
| 2 | bad command line (unknown option, bad value) |
| 3 | configuration: no server URL or credentials, unreadable config file |
| 4 | a local file is missing, unreadable or changed while uploading |
| 5 | credentials refused: 401, 403 (missing or invalid key, scope, wrong password) |
| 6 | the server refused the request: 4xx such as 413 too large, 415 type not allowed, 404 unknown id |
| 7 | quota or plan: 402 storage quota exceeded, 403 tariff |
| 8 | the server could not be reached or kept failing (network, 5xx, 429) after every retry |
| 9 | processing failed on the server (a project or frames job ended in failure) |
| 10 | timed out waiting (`--wait --timeout`) |
| 130 | interrupted (Ctrl-C); run the same command again to resume |
"""

from __future__ import annotations

import json
import sys
import threading
from typing import NoReturn

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from omnidrop.client.errors import ApiError, ConfigError, LocalFileError, TransportError
from omnidrop.client.messages import explain

EXIT_OK = 0
EXIT_BUG = 1
EXIT_USAGE = 2
EXIT_CONFIG = 3
EXIT_LOCAL_FILE = 4
EXIT_AUTH = 5
EXIT_REFUSED = 6
EXIT_QUOTA = 7
EXIT_UNAVAILABLE = 8
EXIT_PROCESSING = 9
EXIT_TIMEOUT = 10
EXIT_INTERRUPTED = 130

QUOTA_CODES = {"storage_quota_exceeded", "tariff_forbids_upload", "tariff"}
AUTH_CODES = {"missing_api_key", "invalid_api_key", "insufficient_scope", "unauthorized", "invalid_credentials",
              "accessdenied"}


def exit_code_for(exc: BaseException) -> int:
    if isinstance(exc, ConfigError):
        return EXIT_CONFIG
    if isinstance(exc, LocalFileError):
        return EXIT_LOCAL_FILE
    if isinstance(exc, TransportError):
        return EXIT_UNAVAILABLE
    if isinstance(exc, ApiError):
        code = exc.code.lower()
        if code in QUOTA_CODES or exc.status == 402:
            return EXIT_QUOTA
        if exc.status in (401, 403) or code in AUTH_CODES:
            return EXIT_AUTH
        if exc.status >= 500 or exc.status == 429:
            return EXIT_UNAVAILABLE
        return EXIT_REFUSED
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_INTERRUPTED
    return EXIT_BUG


def describe_error(exc: BaseException) -> str:
    if isinstance(exc, ApiError):
        return explain(exc)
    return str(exc) or type(exc).__name__


def error_json(exc: BaseException) -> dict:
    body: dict = {"message": describe_error(exc), "exit_code": exit_code_for(exc)}
    if isinstance(exc, ApiError):
        body.update(status=exc.status, code=exc.code)
    return body


class Output:
    """One command's output mode: normal (Rich on stderr), quiet (errors only) or JSON (stdout)."""

    def __init__(self, *, quiet: bool = False, json_mode: bool = False) -> None:
        self.quiet = quiet
        self.json = json_mode
        # Messages are never cut into lines by Rich (off a terminal it assumes 80 columns and would
        # break a long path mid-message); the terminal wraps them if it must.
        self.err = Console(stderr=True, highlight=False, soft_wrap=True)
        self.out = Console(highlight=False, soft_wrap=True)

    def info(self, message: str) -> None:
        if not (self.quiet or self.json):
            self.err.print(message, markup=False)

    def warn(self, message: str) -> None:
        if not self.json:
            self.err.print(f"warning: {message}", markup=False, style="yellow")

    def result(self, text: str, data: dict | list) -> None:
        """The command's answer: `text` for people, `data` for --json."""
        if self.json:
            sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
            sys.stdout.flush()
        elif not self.quiet or text:
            if text:
                self.out.print(text, markup=False)

    def fail(self, exc: BaseException, extra: dict | None = None) -> NoReturn:
        code = exit_code_for(exc)
        if self.json:
            sys.stdout.write(json.dumps({"ok": False, "error": error_json(exc), **(extra or {})}, indent=2) + "\n")
        else:
            self.err.print(f"error: {describe_error(exc)}", markup=False, style="red")
            if code == EXIT_INTERRUPTED:
                self.err.print("interrupted: run the same command again to resume", markup=False)
        raise typer.Exit(code)

    def progress(self) -> UploadProgress:
        return UploadProgress(self)


class UploadProgress:
    """The SDK's Progress on a Rich display: a bar per file in flight, and one for everything."""

    def __init__(self, output: Output) -> None:
        self.output = output
        self.enabled = not (output.quiet or output.json)
        self.live = self.enabled and output.err.is_terminal
        self._lock = threading.Lock()
        self._tasks: dict[str, TaskID] = {}
        self._done: dict[str, int] = {}
        self._sizes: dict[str, int] = {}
        self.bar = Progress(
            TextColumn("{task.description}", markup=False), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
            DownloadColumn(binary_units=True), TransferSpeedColumn(), TimeRemainingColumn(),
            console=output.err, disable=not self.live, refresh_per_second=8,
        )
        self.total: TaskID | None = None

    def __enter__(self) -> UploadProgress:
        self.bar.start()
        return self

    def __exit__(self, *exc) -> None:
        self.bar.stop()

    def expect(self, sizes: dict[str, int], label: str = "total") -> None:
        """Size of the whole run, for the overall bar (before any file starts)."""
        with self._lock:
            self._sizes = dict(sizes)
            self.total = self.bar.add_task(label, total=max(1, sum(sizes.values())),
                                           completed=0 if sum(sizes.values()) else 1)

    def _refresh_total(self) -> None:
        if self.total is not None:
            whole = sum(self._sizes.values())
            done = sum(self._done.values())
            self.bar.update(self.total, completed=done if whole else 1)

    def start(self, key: str, name: str, total: int, done: int = 0) -> None:
        with self._lock:
            self._sizes.setdefault(key, total)
            self._done[key] = done
            if key not in self._tasks:
                self._tasks[key] = self.bar.add_task(_short(name), total=max(1, total), completed=done if total else 1)
            else:
                self.bar.update(self._tasks[key], completed=done, visible=True)
            self._refresh_total()

    def update(self, key: str, done: int) -> None:
        with self._lock:
            self._done[key] = done
            if key in self._tasks:
                self.bar.update(self._tasks[key], completed=done)
            self._refresh_total()

    def finish(self, key: str) -> None:
        with self._lock:
            self._done[key] = self._sizes.get(key, self._done.get(key, 0))
            if key in self._tasks:
                task = self._tasks[key]
                self.bar.update(task, completed=max(1, self._sizes.get(key, 0)))
                # Many files: keep the screen to the ones in flight and the total.
                if len(self._sizes) > 8:
                    self.bar.update(task, visible=False)
            self._refresh_total()
        if self.enabled and not self.live:
            self.output.err.print(f"uploaded {self._name_of(key)}", markup=False)

    def _name_of(self, key: str) -> str:
        task = self._tasks.get(key)
        return self.bar.tasks[[t.id for t in self.bar.tasks].index(task)].description if task is not None else key

    def note(self, message: str) -> None:
        if self.enabled:
            self.bar.console.print(message, markup=False, style="yellow")


def _short(name: str, width: int = 32) -> str:
    return name if len(name) <= width else name[: width - 1] + "…"
