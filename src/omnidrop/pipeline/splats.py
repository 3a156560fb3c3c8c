"""Gaussian splats made web-ready: PlayCanvas's `splat-transform` CLI reads any splat format (3DGS `.ply`,
`.spz`, `.splat`, `.ksplat`, `.sog`) and writes SOG (a zip of WebP textures, the smallest to stream) and
SPZ v3 (gzip; what Spark and most viewers read), with the splat count, spherical-harmonics degree and
bounds from the same tool's summary.

`web_ready(src, fmt, dest, cli)` is the reusable part (project files here; captures' trained splats
later): it knows nothing of jobs, stores or HTTP. The CLI runs as its own process with a time limit,
so a worker's memory is untouched whatever the splat's size.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

# Input formats splat-transform reads, by the extension it decides on.
FORMATS = ("ply", "spz", "splat", "ksplat", "sog")
_SH_DEGREE = {0: 0, 9: 1, 24: 2, 45: 3}  # f_rest_* columns -> spherical-harmonics degree
_CHECKOUT_CLI = Path(__file__).resolve().parents[3] / "tools" / "splat-transform" / "node_modules" / ".bin" / "splat-transform"
_OUTPUT_TAIL = 600  # characters of the tool's output kept in an error message


class SplatError(Exception):
    """A splat that could not be made web-ready; `code` is a short slug for the file's record."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


@dataclass(frozen=True)
class WebSplat:
    count: int
    sh_degree: int
    bounds: dict[str, list[float]]  # {"min": [x, y, z], "max": [x, y, z]}
    outputs: dict[str, Path] = field(default_factory=dict)  # {"sog": path, "spz": path}


def find_cli(configured: str = "") -> list[str] | None:
    """The splat-transform command: the configured path, else `splat-transform` on PATH, else the source
    checkout's tools/splat-transform (installed by scripts/lib/setup.sh). None when there is none."""
    if configured:
        return [configured]
    found = shutil.which("splat-transform")
    if found:
        return [found]
    if _CHECKOUT_CLI.exists():
        return [str(_CHECKOUT_CLI)]
    return None


def web_ready(src: Path, fmt: str, dest: Path, cli: list[str], *, timeout: float = 900.0,
              outputs: tuple[str, ...] = ("sog", "spz")) -> WebSplat:
    """Read the splat at `src` (format `fmt`, one of FORMATS) and write `dest/splat.<out>` for each of
    `outputs` ("sog", "spz", "ply"). Overwrites what an earlier run left. Raises SplatError."""
    if fmt not in FORMATS:
        raise SplatError("unsupported_format", f"{fmt!r} is not a splat format splat-transform reads")
    dest.mkdir(parents=True, exist_ok=True)
    # The tool picks the reader by extension; a stored blob has none of its own.
    source = dest / f"input.{fmt}"
    source.unlink(missing_ok=True)
    os.symlink(Path(src).resolve(), source)
    try:
        stats = None
        made: dict[str, Path] = {}
        for out in outputs or ("null",):
            target = dest / f"splat.{out}"
            extra = ["--spz-version", "3"] if out == "spz" else []
            # -m: the input's summary (count, columns, extents) on stdout, taken from the first run.
            # -g cpu: SOG's k-means on the CPU (a server has no WebGPU adapter to count on).
            said = _run(cli, ["-q", "-w", "-g", "cpu", str(source), *(["-m"] if stats is None else []),
                              "null" if out == "null" else str(target), *extra], timeout, f"write {out}", stats is None)
            if stats is None:
                stats = parse_summary(said)
            if out == "null":
                break
            if not target.is_file() or target.stat().st_size == 0:
                raise SplatError("conversion_failed", f"splat-transform wrote no {out} file")
            made[out] = target
    finally:
        source.unlink(missing_ok=True)
    return WebSplat(stats.count, stats.sh_degree, stats.bounds, made)


@dataclass(frozen=True)
class _Stats:
    count: int
    sh_degree: int
    bounds: dict[str, list[float]]


def parse_summary(text: str) -> _Stats:
    """Row count, SH degree and x/y/z extent from splat-transform's `--summary` (a Markdown table)."""
    m = re.search(r"Row Count:\**\s*([\d,]+)", text)
    if not m:
        raise SplatError("unreadable", "splat-transform gave no summary of the splat")
    count = int(m[1].replace(",", ""))
    columns: dict[str, list[str]] = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and re.fullmatch(r"[A-Za-z_][\w]*", cells[0]) and cells[0] != "Column":
            columns[cells[0]] = cells[1:]
    if count == 0:
        raise SplatError("empty", "the splat holds no Gaussians")
    try:
        lo = [float(columns[a][0]) for a in "xyz"]
        hi = [float(columns[a][1]) for a in "xyz"]
    except (KeyError, ValueError, IndexError):
        raise SplatError("unreadable", "the splat has no x/y/z positions") from None
    rest = sum(name.startswith("f_rest_") for name in columns)
    if rest not in _SH_DEGREE:
        raise SplatError("unreadable", f"{rest} higher-order SH coefficients is no SH degree")
    return _Stats(count, _SH_DEGREE[rest], {"min": lo, "max": hi})


def sog_count(path: Path) -> int:
    """The Gaussian count a SOG bundle declares (its meta.json), for checking what was written."""
    import json

    with zipfile.ZipFile(path) as zf:
        name = next(n for n in zf.namelist() if n.rsplit("/", 1)[-1] == "meta.json")
        return int(json.loads(zf.read(name))["count"])


def _run(cli: list[str], args: list[str], timeout: float, what: str, reading: bool) -> str:
    try:
        done = subprocess.run([*cli, *args], capture_output=True, text=True, timeout=timeout, check=False,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise SplatError("timeout", f"splat-transform did not finish ({what}) within {timeout:.0f} s") from None
    except OSError as exc:
        raise SplatError("converter_missing", f"cannot run splat-transform: {exc}") from None
    if done.returncode != 0:
        raise SplatError("unreadable" if reading else "conversion_failed",
                         f"splat-transform could not {'read' if reading else what} the splat: {_reason(done.stderr or done.stdout, done.returncode)}")
    return done.stdout


def _reason(output: str, code: int) -> str:
    """The tool's own error line, without its stack trace or this server's paths."""
    lines = [re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", ln).strip(" ✗") for ln in output.splitlines()]
    lines = [ln for ln in lines if ln and not ln.startswith("at ") and not ln.startswith("failed in")]
    said = next((ln.split("Error:", 1)[1].strip() for ln in lines if "Error:" in ln), lines[-1] if lines else "")
    said = re.sub(r"(?:in )?(?:file )?'[^']*/input\.(\w+)'", r"in the .\1 file", said)
    return said[:_OUTPUT_TAIL] or f"exit code {code}"
