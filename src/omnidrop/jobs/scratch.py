"""Per-process scratch folders for jobs, so a killed worker's files can be found and removed.

Jobs make their temporary folders with `tempfile` (decoded frames, downloaded inputs: gigabytes). A
worker points `tempfile` at a folder named after itself (host, pid and the pid's start time, so a
reused pid is not mistaken for the dead one). A SIGKILL skips every `finally`; the next worker on the
same machine sees that the named process is gone and removes its folder.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)


def _started(pid: int) -> str:
    """The process's start time in clock ticks since boot ("" where /proc is missing)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat.rsplit(")", 1)[1].split()[19]  # field 22; the name before ')' may hold spaces


def _alive(pid: int, started: str) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, another user's
    return not started or _started(pid) == started


def _host() -> str:
    return socket.gethostname().replace("_", "-")[:40]


def use_own_scratch(root: Path) -> Path:
    """Make this process's folder under `root` and send every later `tempfile` call there."""
    pid = os.getpid()
    path = root / f"{_host()}_{pid}_{_started(pid) or 0}"
    path.mkdir(parents=True, exist_ok=True)
    tempfile.tempdir = str(path)
    return path


def remove_dead(root: Path) -> list[Path]:
    """Remove the folders of this machine's worker processes that no longer run."""
    removed: list[Path] = []
    if not root.is_dir():
        return removed
    for path in root.iterdir():
        host, _, rest = path.name.partition("_")
        pid, _, started = rest.partition("_")
        if host != _host() or not pid.isdigit():
            continue  # another machine's (a shared scratch disk) or not ours
        if _alive(int(pid), "" if started == "0" else started):
            continue
        shutil.rmtree(path, ignore_errors=True)
        log.info("removed scratch of dead worker %s", path.name)
        removed.append(path)
    return removed
