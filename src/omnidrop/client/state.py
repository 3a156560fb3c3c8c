"""The local resume state: upload ids, offsets and part ETags, so a run after a crash continues.

One JSON file (`$OMNIDROP_STATE_FILE`, else `$XDG_STATE_HOME/omnidrop/uploads.json`). Every change is
read-modify-write under an exclusive `flock` (several uploads may run at once) and lands by writing a
temporary file, fsyncing it and renaming it over the old one: a SIGKILL at any instant leaves either
the old or the new state, never a torn file. The server stays the authority on offsets; the state
only says which upload a file belongs to (and, for presigned parts, which ETags the client holds).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

VERSION = 1


def default_state_path() -> Path:
    if env := os.environ.get("OMNIDROP_STATE_FILE"):
        return Path(env).expanduser()
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "omnidrop" / "uploads.json"


class StateFile:
    def __init__(self, path: Path | None = None) -> None:
        self.path = (path or default_state_path()).expanduser()
        self._thread_lock = threading.Lock()

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._thread_lock, open(self.path.with_name(self.path.name + ".lock"), "a+") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)

    def _load(self) -> dict:
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {"version": VERSION}
        except ValueError:
            # Only a hand edit can get here (writes are atomic): start over rather than refuse to run.
            return {"version": VERSION}
        return data if isinstance(data, dict) else {"version": VERSION}

    def _store(self, data: dict) -> None:
        fd, tmp = tempfile.mkstemp(prefix=".uploads-", suffix=".tmp", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w") as f:
                json.dump(data, f, separators=(",", ":"), sort_keys=True)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        dir_fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    def get(self, section: str, key: str) -> dict | None:
        with self._locked():
            value = self._load().get(section, {}).get(key)
        return dict(value) if isinstance(value, dict) else None

    def update(self, section: str, key: str, change: Callable[[dict], dict | None]) -> dict | None:
        """Apply `change` to the entry (an empty dict when new); None removes it. Returns the new entry."""
        with self._locked():
            data = self._load()
            entries = data.setdefault(section, {})
            new = change(dict(entries.get(key) or {}))
            if new is None:
                entries.pop(key, None)
            else:
                entries[key] = new
            self._store(data)
        return new

    def put(self, section: str, key: str, value: dict | None) -> None:
        self.update(section, key, lambda _old: value)

    def merge(self, section: str, key: str, **fields: object) -> dict:
        return self.update(section, key, lambda old: {**old, **fields})  # type: ignore[return-value]
