"""The documentation: the mkdocs site builds strictly (a broken link or anchor fails), the README stays a
landing page, neither points readers at the project's internal notes, and every setting is documented."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from omnidrop.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
README = ROOT / "README.md"
# Paths into the internal notes and API documents the server was built from; users never see those.
INTERNAL = re.compile(r"(?<![\w.-])(shared|specs)/")


def test_the_site_builds_strictly(tmp_path):
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file", str(ROOT / "mkdocs.yml"),
                           "--site-dir", str(tmp_path / "site")], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "WARNING" not in done.stderr, done.stderr
    index = (tmp_path / "site" / "apis" / "file-upload" / "index.html").read_text()
    assert "upload_in_progress" in index
    assert "fonts.googleapis.com" not in (tmp_path / "site" / "index.html").read_text()


def test_the_readme_is_a_landing_page():
    text = README.read_text()
    assert len(text.encode()) <= 12 * 1024, f"README.md is {len(text.encode())} bytes; move detail into docs/"
    # The two commands a fresh machine starts with (.ci/run calls scripts/test).
    assert "./scripts/serve" in text and "./scripts/test" in text
    for link in re.findall(r"\]\((docs/[^)#]+)", text):
        assert (ROOT / link).is_file(), link


def test_no_page_points_at_internal_paths():
    pages = [README, *sorted(DOCS.rglob("*.md"))]
    hits = [f"{p.relative_to(ROOT)}:{n}: {line.strip()}" for p in pages
            for n, line in enumerate(p.read_text().splitlines(), 1) if INTERNAL.search(line)]
    assert not hits, "\n".join(hits)


def test_every_setting_is_documented():
    page = (DOCS / "configuration.md").read_text()
    missing = [f"OMNIDROP_{name.upper()}" for name in Settings.model_fields if f"`OMNIDROP_{name.upper()}`" not in page]
    assert not missing, f"add these to docs/configuration.md: {missing}"
