"""scripts/lib/setup.sh against a stand-in apt-get that finds the dpkg lock held by another apt process
for its first calls, as on a fresh cloud machine whose unattended upgrades are still running."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

FAKE_APT = """#!/usr/bin/env bash
echo "$*" >> "$LOG"
n=$(cat "$COUNT" 2>/dev/null || echo 0); echo $((n + 1)) > "$COUNT"
if [ "$n" -lt "$BUSY_CALLS" ]; then
  echo "E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 4242 (apt-get)" >&2
  echo "E: Unable to acquire the dpkg frontend lock (/var/lib/dpkg/lock-frontend), is another process using it?" >&2
  exit 100
fi
"""


def _run(tmp_path: Path, busy_calls: int, **env: str) -> tuple[subprocess.CompletedProcess, list[str]]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, text in {"apt-get": FAKE_APT, "sudo": 'exec "$@"\n',
                       "dpkg-query": "exit 1\n"}.items():  # every package is missing
        (bin_dir / name).write_text(text if text.startswith("#!") else "#!/usr/bin/env bash\n" + text)
        (bin_dir / name).chmod(0o755)
    log = tmp_path / "apt.log"
    done = subprocess.run(
        ["bash", "-c", f"set -euo pipefail; source {REPO}/scripts/lib/setup.sh; ensure_debian_packages jq"],
        env={**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "LOG": str(log),
             "COUNT": str(tmp_path / "count"), "BUSY_CALLS": str(busy_calls), **env},
        capture_output=True, text=True, timeout=120)
    return done, log.read_text().splitlines() if log.exists() else []


def test_waits_for_another_apt_process_to_release_the_lock(tmp_path):
    done, calls = _run(tmp_path, busy_calls=2, OMNIDROP_APT_RETRY_SECONDS="0")
    assert done.returncode == 0, done.stderr
    assert "waiting" in done.stdout + done.stderr
    # update, retried until the lock was free, then the install; every call asks apt itself to wait too
    assert [c.split()[2] for c in calls] == ["update", "update", "update", "install"] and calls[-1].endswith(" jq")
    assert all("DPkg::Lock::Timeout=" in c for c in calls)


def test_gives_up_once_the_wait_exceeds_its_timeout(tmp_path):
    done, calls = _run(tmp_path, busy_calls=1000, OMNIDROP_APT_RETRY_SECONDS="0", OMNIDROP_APT_LOCK_TIMEOUT="0")
    assert done.returncode != 0 and len(calls) == 1
    assert "Could not get lock" in done.stderr
