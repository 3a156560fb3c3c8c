"""The layers of the design, as import-linter contracts in pyproject.toml: an import against the flow
(the job mechanism reaching a job kind, a surface calling the blob store, a circle between packages)
fails here with the chain that breaks it."""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_imports_keep_every_contract():
    lint = Path(sys.executable).with_name("lint-imports")
    # --no-cache: nothing written into the repo, and no stale graph can hide a new import.
    done = subprocess.run([str(lint), "--no-cache"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert " 0 broken" in done.stdout
