"""Packaging hook: a wheel or sdist of omnidrop carries the built web app (src/omnidrop/web/dist).

Everything else is declared in pyproject.toml. Before `build_py` (and `sdist`) copies files, the web app
in web/ is built with `npm ci` + `npm run build` when dist is missing or stale. Staleness is the same
stamp `scripts/lib/setup.sh` (ensure_web_assets) writes: a SHA-256 over the lock file and every
source file, kept in dist/.omnidrop-build, so a checkout that `scripts/serve` already built is not
built again. Editable installs (`pip install -e`, what scripts/lib/setup.sh does) skip the build, as
does OMNIDROP_SKIP_WEB_BUILD=1; the web app is then built by ensure_web_assets or by hand.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

ROOT = Path(__file__).resolve().parent
WEB = ROOT / "web"
DIST = ROOT / "src" / "omnidrop" / "web" / "dist"
STAMP = DIST / ".omnidrop-build"
WEB_INPUTS = ("package.json", "package-lock.json", "index.html", "docs.html", "vite.config.js", "tsconfig.json")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def web_sources_hash() -> str:
    """What ensure_web_assets computes: sha256sum of each input, sorted by path, hashed again."""
    files = [name for name in WEB_INPUTS if (WEB / name).is_file()]
    for root, _dirs, names in os.walk(WEB / "src"):
        files += [Path(root, n).relative_to(WEB).as_posix() for n in names if Path(root, n).is_file()]
    files.sort(key=str.encode)
    listing = "".join(f"{_sha256(WEB / f)}  {f}\n" for f in files)
    return hashlib.sha256(listing.encode()).hexdigest()


def ensure_web_build() -> None:
    if os.environ.get("OMNIDROP_SKIP_WEB_BUILD") == "1":
        return
    if not (WEB / "package.json").is_file():
        # An sdist without web sources (not one this setup.py makes): use the dist it carries.
        if not (DIST / "index.html").is_file():
            raise SystemExit("omnidrop: no web/ sources and no built web app in src/omnidrop/web/dist")
        return
    want = web_sources_hash()
    if (DIST / "index.html").is_file() and STAMP.is_file() and STAMP.read_text().strip() == want:
        return
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit("omnidrop: building the web app needs Node.js and npm (web/ -> src/omnidrop/web/dist)")
    lock = WEB / "node_modules" / ".omnidrop-lock"
    lock_hash = _sha256(WEB / "package-lock.json")
    if not lock.is_file() or lock.read_text().strip() != lock_hash:
        subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=WEB, check=True)
        lock.write_text(lock_hash + "\n")
    subprocess.run([npm, "run", "--silent", "build", "--", "--logLevel", "warn"], cwd=WEB, check=True)
    STAMP.write_text(want + "\n")


class BuildPyWithWeb(build_py):
    def run(self) -> None:
        if not getattr(self, "editable_mode", False):
            ensure_web_build()
        super().run()


class SdistWithWeb(sdist):
    def run(self) -> None:
        ensure_web_build()
        super().run()


setup(cmdclass={"build_py": BuildPyWithWeb, "sdist": SdistWithWeb})
