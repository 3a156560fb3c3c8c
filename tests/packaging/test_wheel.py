"""Packaging: a wheel built from the source tree carries the web app (setup.py's build_py hook), and
`omnidrop serve` from a fresh venv holding only that wheel serves /app/ and /docs without a network.

To stay fast the fresh venv gets the wheel alone (--no-deps) and borrows this test venv's third-party
packages through a .pth file; omnidrop's code and assets come only from the wheel (checked)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_ANYWHERE = shutil.ignore_patterns(".git", ".venv", "node_modules", "omnidrop-data", "test-artifacts", "build",
                                   "__pycache__", "*.egg-info", ".pytest_cache")
_TOP_LEVEL = {"tests", "bench", "docs"}  # only at the root: web/src/docs is part of the web build


def IGNORED(folder: str, names: list[str]) -> set[str]:  # noqa: N802 (shutil's ignore= callable)
    top = {n for n in names if n in _TOP_LEVEL} if Path(folder) == ROOT else set()
    return _ANYWHERE(folder, names) | top


def source_copy(dest: Path) -> Path:
    """The tree as a build sees it, outside the checkout so building writes nothing there. The web app's
    node_modules are linked, not copied: the hook only needs them when dist is stale."""
    shutil.copytree(ROOT, dest, ignore=IGNORED, symlinks=True)
    modules = ROOT / "web" / "node_modules"
    lock = hashlib.sha256((ROOT / "web" / "package-lock.json").read_bytes()).hexdigest()
    stamp = modules / ".omnidrop-lock"
    # Linked only when they match the lock file, so the hook never runs `npm ci` over the checkout's copy.
    if stamp.is_file() and stamp.read_text().strip() == lock:
        (dest / "web" / "node_modules").symlink_to(modules)
    return dest


def netns_available() -> bool:
    try:
        return subprocess.run(["unshare", "-rn", "ip", "link", "set", "lo", "up"], capture_output=True,
                              timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.mark.skipif(shutil.which("npm") is None and not (ROOT / "src/omnidrop/web/dist/index.html").exists(),
                    reason="neither npm nor a built web app")
def test_the_wheel_serves_the_web_app_and_docs_offline(tmp_path):
    src = source_copy(tmp_path / "src")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OMNIDROP_", "PYTHONPATH"))}
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q",
                    "-w", str(tmp_path / "wheels"), str(src)], check=True, env=env, timeout=300)
    (wheel,) = (tmp_path / "wheels").glob("omnidrop-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "omnidrop/web/dist/index.html" in names
    assert any(n.startswith("omnidrop/web/dist/assets/") and n.endswith(".js") for n in names)
    assert "omnidrop/db/migrations/env.py" in names

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60)
    python = venv / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index", "-q",
                    str(wheel)], check=True, env=env, timeout=120)
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    (site / "borrowed-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    netns = netns_available()
    driver = [str(python), str(Path(__file__).with_name("serve_offline.py")), str(venv / "bin" / "omnidrop"),
              str(tmp_path / "data"), "1" if netns else "0"]
    done = subprocess.run((["unshare", "-rn"] if netns else []) + driver, capture_output=True, text=True,
                          env={**env, "OMNIDROP_EMBEDDED_WORKER": "false"}, cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    got = json.loads(done.stdout.strip().splitlines()[-1])
    # omnidrop itself, code and web app, came from the wheel, not from this checkout.
    assert Path(got["module"]).is_relative_to(site) and Path(got["static"]).is_relative_to(site), got
    dist = Path(got["static"]).parent / "dist"
    status, ctype, index = got["index"]
    assert status == 200 and ctype.startswith("text/html") and "/app/assets/" in index, got
    path, a_status, a_type, size = got["asset"]
    assert a_status == 200 and "javascript" in a_type and size == (Path(dist) / path.removeprefix("/app/")).stat().st_size
    assert got["docs"][0] == 200 and got["docs"][1].startswith("text/html"), got
    if netns:
        assert got["network"] is False
