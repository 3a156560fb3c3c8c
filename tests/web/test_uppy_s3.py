"""Uppy's own @uppy/aws-s3, version 5 and version 6, uploading to omnidrop's Companion S3 routes from a
real browser (Debian's chromium through playwright-core), from a page on omnidrop's own origin and from a
page on another origin (a second loopback port).

Each run goes offline for a moment while a part is in flight (Uppy 5 resends it by itself; Uppy 6
fails the file and a retry, as the Dashboard offers, goes on from the parts omnidrop lists), then
reloads the page while another part is in flight: Golden Retriever restores the upload and the plugin
carries on from the parts omnidrop lists. The stored object must have the sha256 of the file sent. Screenshots in test-artifacts/web/.

Uppy 5 signs with `endpoint` + `headers` (a Bearer key); Uppy 6 has neither and uses
`companionEndpoint: <base>/companion/<credential>`.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.support.server import free_port, read_blob

ROOT = Path(__file__).resolve().parents[2]
DRIVER = Path(__file__).with_name("uppy_s3.mjs")
ARTIFACTS = ROOT / "test-artifacts" / "web"
ESBUILD = ROOT / "web" / "node_modules" / ".bin" / "esbuild"
CHROMIUM = Path("/usr/bin/chromium")
MiB = 1024 * 1024
PAGE = """<!doctype html><meta charset="utf-8"><title>Uppy {major} → omnidrop</title>
<body style="font: 16px system-ui; margin: 2em"><h1>@uppy/aws-s3, Uppy {major}</h1>
<input type="file" id="file"><p id="status">loading…</p><script src="bundle.js"></script></body>"""

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (scripts/test installs it)")


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> Path:
    """One folder per Uppy major: index.html and bundle.js (esbuild, from tests/js/uppy<N>)."""
    root = tmp_path_factory.mktemp("uppy-pages")
    for major in (5, 6):
        src = ROOT / "tests" / "js" / f"uppy{major}"
        assert (src / "node_modules" / "@uppy" / "aws-s3").is_dir(), f"npm ci in {src} (scripts/test does)"
        out = root / f"uppy{major}"
        out.mkdir()
        (out / "index.html").write_text(PAGE.format(major=major))
        done = subprocess.run([str(ESBUILD), str(src / "entry.js"), "--bundle", "--format=iife", "--target=es2022",
                               f"--outfile={out / 'bundle.js'}", "--log-level=warning"],
                              capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr
    return root


@pytest.fixture(scope="module")
def page_origin(pages):
    """A plain static server on a second loopback port: the 'other origin'."""
    server = ThreadingHTTPServer(("127.0.0.1", free_port()),
                                 partial(_QuietHandler, directory=str(pages)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def live(servers, page_origin):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    # Only the page's origin is allowed: the cross-origin runs depend on the CORS middleware's answers.
    return servers.start(fsync=False, cors_allow_origins=[page_origin])


def upload(live, page_url: str, page_dir: Path | None, key: str, source: Path, name: str, mode: str = "") -> dict:
    cfg = {"page": page_url, "pageDir": str(page_dir) if page_dir else None, "base": live.url, "key": key,
           "file": str(source), "artifacts": str(ARTIFACTS), "name": name, "mode": mode}
    done = subprocess.run(["node", str(DRIVER), json.dumps(cfg)], capture_output=True, text=True, timeout=150,
                          check=False)
    lines = done.stdout.strip().splitlines()
    assert lines, f"{name}: no result\n{done.stderr}"
    got = json.loads(lines[-1])
    assert got["ok"], f"{name}: {got['error']}\nstate={got.get('state')}\nlog={got['log']}\n{done.stderr[-2000:]}"
    assert got["pageErrors"] == [], got["pageErrors"]
    return got


@pytest.mark.parametrize("origin", ["same-origin", "cross-origin"])
@pytest.mark.parametrize("major", [5, 6])
def test_uppy_aws_s3_survives_offline_and_a_reload(live, pages, page_origin, tmp_path, major, origin):
    source = tmp_path / f"scan-{major}.e57"
    source.write_bytes(os.urandom(12 * MiB + 5))  # three parts of 5, 5 and 2 MiB
    if origin == "same-origin":
        page_url, page_dir = f"{live.url}/__uppy-harness/index.html", pages / f"uppy{major}"
    else:
        page_url, page_dir = f"{page_origin}/uppy{major}/index.html", None
    got = upload(live, page_url, page_dir, live.key(), source, f"uppy{major}-{origin}")

    # The browser really went offline, and came back, while the upload ran.
    assert got["offlineSeen"] and got["before"]["network"][:2] == ["offline", "online"], got["before"]
    puts = [(e["phase"], e["path"].rsplit("/", 1)[-1]) for e in got["log"] if e["method"] == "PUT"]
    if major == 5:
        assert not got["retried"]  # v5 waits for the connection and resends the part itself
    else:
        # v6 fails the file on a lost connection; a retry lists the parts and sends only what is missing.
        assert got["retried"] and got["before"]["errors"]
        retry = [e for e in got["log"] if e["phase"] == "retry"]
        assert re.search(r"/s3/multipart/[^/]+$", retry[0]["path"]) and retry[0]["method"] == "GET", retry
        assert [p for phase, p in puts if phase == "retry"][:1] == ["2"], puts
    assert [p for phase, p in puts].count("1") == 1, puts
    # Part 2 was sent again after the lost connection; part 3 was in flight at the reload and sent once after.
    assert got["tries"]["2"] >= 2 and got["tries"]["3"] == 2
    # After the reload: the same upload, its parts listed, only part 3 sent, then completed.
    after = [e for e in got["log"] if e["phase"] == "after-reload"]
    assert not [e for e in after if e["method"] == "POST" and e["path"].endswith("/s3/multipart")], after
    assert any(e["method"] == "GET" and re.search(r"/s3/multipart/[^/]+$", e["path"]) for e in after), after
    assert [p for phase, p in puts if phase == "after-reload"] == ["3"], puts
    assert any(e["method"] == "POST" and e["path"].endswith("/complete") for e in after)
    assert sum(1 for e in got["log"] if e["method"] == "POST" and e["path"].endswith("/s3/multipart")) == 1
    if major == 6:
        assert all("/companion/<credential>/s3/multipart" in e["path"] for e in got["log"] if "/s3/" in e["path"])
    stored = read_blob(live, got["key"])
    assert hashlib.sha256(stored).hexdigest() == hashlib.sha256(source.read_bytes()).hexdigest()


def test_uppy6_sign_request_mode_from_another_origin(live, page_origin, tmp_path):
    """Uppy 6's signRequest mode: each S3 request signed by POST /s3/sign, then sent as S3 XML to the URL."""
    source = tmp_path / "walk.insv"
    source.write_bytes(os.urandom(12 * MiB + 3))
    got = upload(live, f"{page_origin}/uppy6/index.html", None, live.key(), source, "uppy6-signRequest", "signRequest")
    assert got["offlineSeen"] and got["before"]["network"][:2] == ["offline", "online"], got["before"]
    calls = [(e["phase"], e["method"], re.sub(r"/_omnidrop/(s3|parts)/[^/]+/", r"/_omnidrop/\1/<id>/", e["path"]))
             for e in got["log"] if e["path"] != "/s3/sign"]
    assert calls[0] == ("first", "POST", "/_omnidrop/s3/<id>/create")
    assert [c for c in calls if c[1] == "POST" and c[2].endswith("/create")] == [calls[0]]  # one upload
    after = [c[1:] for c in calls if c[0] == "after-reload"]
    # After the reload: the parts listed (S3 ListParts XML), only part 3 sent, then completed.
    assert after == [("GET", "/_omnidrop/s3/<id>/parts"), ("PUT", "/_omnidrop/parts/<id>/3"),
                     ("POST", "/_omnidrop/s3/<id>/complete")], after
    assert got["retried"] and got["tries"]["2"] >= 2 and got["tries"]["3"] == 2
    stored = read_blob(live, got["key"])
    assert hashlib.sha256(stored).hexdigest() == hashlib.sha256(source.read_bytes()).hexdigest()
