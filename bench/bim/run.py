"""BIM viewer: IfcOpenShell on the server (GLB + tree + properties, omnidrop's choice) against web-ifc
in the browser, on the same IFC models.

    python bench/bim/run.py [--workdir DIR] [--models 1k,5k] [--runs 1]

Models are made once with ifcopenshell.api (tests/support/ifc.py: storeys of wall/wall/column/slab
bays plus doors, every element with a property set) and cached in the work directory. For each:

- server: `pipeline.bim.convert` in its own process (one geometry thread, the default): wall time,
  peak RSS, output sizes. This is paid once, in the project job.
- browser, server-converted: omnidrop's viewer (web/src/views/bim.ts) in Debian's chromium loading
  the GLB and tree: time from the page asking to the first frame drawn, JS heap after it.
- browser, web-ifc: bench/bim/webifc.html parses the IFC with web-ifc 0.0.78 (WASM, single thread)
  and streams its meshes into three.js, then builds the spatial tree: time to first frame, JS heap
  and WASM heap. This is paid on every view, on the viewer's device.

Chromium renders with SwiftShader (no GPU), alike for both. A static HTTP server in this process
serves the built app, the outputs and web/node_modules. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parents[1].parent
sys.path.insert(0, str(REPO))

MODELS = {"1k": (4, 8), "5k": (8, 12), "10k": (12, 14)}  # name: (storeys, bays per side)
DRIVER = REPO / "tests" / "web" / "bim_browser.mjs"
DIST = REPO / "src" / "omnidrop" / "web" / "dist"

CONVERT = """
import json, resource, sys, time
from pathlib import Path
from omnidrop.pipeline.bim import convert
t = time.perf_counter()
details = convert(Path(sys.argv[1]), Path(sys.argv[2]), threads=1)
print(json.dumps({"seconds": time.perf_counter() - t, "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "elements": details["element_count"], "drawn": details["drawn"]}))
"""


def model(workdir: Path, name: str) -> Path:
    from tests.support.ifc import building

    path = workdir / f"tower-{name}.ifc"
    if not path.exists():
        storeys, bays = MODELS[name]
        print(f"making {path.name} ({storeys} storeys, {bays}x{bays} bays)…", file=sys.stderr)
        building(path.with_suffix(".tmp"), storeys, bays).rename(path)
    return path


def serve(root: Path) -> tuple[ThreadingHTTPServer, str]:
    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args):  # noqa: D401 - silence
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def browse(scenario: str, artifacts: Path, **cfg) -> dict:
    cfg = {"artifacts": str(artifacts), "key": "sk_bench_only", "timeout_ms": 600000, **cfg}
    done = subprocess.run(["node", str(DRIVER), scenario, json.dumps(cfg)], capture_output=True, text=True, timeout=900)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if not result["ok"]:
        raise RuntimeError(f"{scenario}: {result['error']}\n{done.stderr[-2000:]}")
    return result


def mib(n: float) -> str:
    return f"{n / 2**20:.1f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "omnidrop-bench-bim")
    ap.add_argument("--models", default="1k,5k")
    args = ap.parse_args()
    assert (DIST / "index.html").is_file(), "build the web app first: cd web && npm run build"
    work = args.workdir
    work.mkdir(parents=True, exist_ok=True)
    root = work / "www"
    root.mkdir(exist_ok=True)
    for link, target in {"app": DIST, "nm": REPO / "web" / "node_modules",
                         "webifc.html": Path(__file__).with_name("webifc.html")}.items():
        if not (root / link).exists():
            (root / link).symlink_to(target)
    server, base = serve(root)
    artifacts = work / "shots"
    artifacts.mkdir(exist_ok=True)
    rows = []
    try:
        for name in args.models.split(","):
            src = model(work, name)
            (root / src.name).unlink(missing_ok=True)
            (root / src.name).symlink_to(src)
            out = root / f"out-{name}"
            env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
            done = subprocess.run([sys.executable, "-c", CONVERT, str(src), str(out)], capture_output=True, text=True,
                                  env=env, check=True)
            conv = json.loads(done.stdout.strip().splitlines()[-1])
            sizes = {p.name: p.stat().st_size for p in out.iterdir()}
            ours = browse("firstView", artifacts, base=base, model=f"/out-{name}/model.glb", tree=f"/out-{name}/tree.json",
                          properties=f"/out-{name}/properties.json")
            theirs = browse("webIfc", artifacts, base=base, ifc=f"/{src.name}")
            rows.append((name, src.stat().st_size, conv, sizes, ours, theirs))
            print(f"{name}: {conv} {sizes} ours={ours} web-ifc={theirs}", file=sys.stderr)
    finally:
        server.shutdown()

    print("| model | IFC | elements | server: convert (s) | server: peak RSS (MiB) | GLB + tree (MiB) | properties (MiB) "
          "| first view, server-converted (s) | JS heap (MiB) | first view, web-ifc in the page (s) | JS + WASM heap (MiB) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name, size, conv, sizes, ours, theirs in rows:
        print(f"| {name} | {mib(size)} MiB | {conv['elements']} | {conv['seconds']:.1f} | {conv['rss_mib']:.0f} "
              f"| {mib(sizes['model.glb'] + sizes['tree.json'])} | {mib(sizes['properties.json'])} "
              f"| {ours['firstViewMs'] / 1000:.2f} | {mib(ours['heap'])} "
              f"| {theirs['firstViewMs'] / 1000:.2f} | {mib(theirs['heap'])} + {mib(theirs['wasm'])} |")


if __name__ == "__main__":
    main()
