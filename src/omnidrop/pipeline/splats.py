"""Gaussian splats made web-ready: PlayCanvas's `splat-transform` CLI reads any splat format (3DGS `.ply`,
`.spz`, `.splat`, `.ksplat`, `.sog`) and writes SOG (a zip of WebP textures, the smallest to stream) and
SPZ v3 (gzip; what Spark and most viewers read), with the splat count, spherical-harmonics degree and
bounds from the same tool's summary.

`web_ready(src, fmt, dest, cli)` is the reusable part (project files here; captures' trained splats
later): it knows nothing of jobs, stores or HTTP. The CLI runs as its own process with a time limit;
the project step runs `web_ready` itself in a child process too (the preview reads splats with NumPy),
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

import numpy as np

# Input formats splat-transform reads, by the extension it decides on.
FORMATS = ("ply", "spz", "splat", "ksplat", "sog")
_SH_DEGREE = {0: 0, 9: 1, 24: 2, 45: 3}  # f_rest_* columns -> spherical-harmonics degree
_CHECKOUT_CLI = Path(__file__).resolve().parents[3] / "tools" / "splat-transform" / "node_modules" / ".bin" / "splat-transform"
_OUTPUT_TAIL = 600  # characters of the tool's output kept in an error message


class SplatError(Exception):
    """A splat that could not be made web-ready; `code` is a short slug for the file's record."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message)  # both in args, so it pickles back from a child process
        self.code, self.message = code, message

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class WebSplat:
    count: int
    sh_degree: int
    bounds: dict[str, list[float]]  # {"min": [x, y, z], "max": [x, y, z]}
    outputs: dict[str, Path] = field(default_factory=dict)  # {"sog": path, "spz": path, "preview": jpeg}


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
              outputs: tuple[str, ...] = ("sog", "spz"), preview_edge: int = 0) -> WebSplat:
    """Read the splat at `src` (format `fmt`, one of FORMATS) and write `dest/splat.<out>` for each of
    `outputs` ("sog", "spz", "ply"), and `dest/preview.jpg` when `preview_edge` > 0 (see `preview`).
    Overwrites what an earlier run left. Raises SplatError."""
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
        if preview_edge > 0:
            # Degree-0 colours are all a picture needs: a PLY without the higher SH bands, read and dropped.
            flat = dest / "preview.ply"
            _run(cli, ["-q", "-w", str(source), "-H", "0", str(flat)], timeout, "write a preview of", False)
            try:
                made["preview"] = preview(flat, dest / "preview.jpg", preview_edge)
            finally:
                flat.unlink(missing_ok=True)
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


_PLY_TYPES = {"float": "<f4", "float32": "<f4", "double": "<f8", "float64": "<f8", "uchar": "u1", "uint8": "u1",
              "char": "i1", "int8": "i1", "short": "<i2", "int16": "<i2", "ushort": "<u2", "uint16": "<u2",
              "int": "<i4", "int32": "<i4", "uint": "<u4", "uint32": "<u4"}
SH_C0 = 0.28209479177387814
_MAX_DOT = 4  # largest disc radius in the (double-size) preview, in pixels


def preview(ply: Path, out: Path, max_edge: int = 512, max_splats: int = 200_000, aspect: float = 4 / 3) -> Path:
    """A JPEG of a 3DGS PLY (binary little-endian, as splat-transform writes): the splat centres seen from
    the meshes' thumbnail camera (front-right, above, +Y up), each a small disc in its degree-0 colour,
    nearest in front, on the viewer's dark background. Framed on the 1st-99th percentile of the centres,
    so a few far-off floaters do not shrink the scene to a dot. At most `max_splats`, picked evenly, are
    read (through a memory map: a large splat costs no more memory than that)."""
    from PIL import Image

    from omnidrop.pipeline.meshes import camera_axes

    with open(ply, "rb") as f:
        head = f.read(64 * 1024)
    end = head.find(b"end_header\n")
    if not head.startswith(b"ply") or end < 0 or b"binary_little_endian" not in head[:end]:
        raise SplatError("conversion_failed", "the preview PLY is not binary little-endian")
    fields, count, in_vertex = [], 0, False
    for line in head[:end].decode("ascii", "replace").splitlines():
        words = line.split()
        if words[:1] == ["element"]:
            in_vertex = words[1] == "vertex"
            count = int(words[2]) if in_vertex else count
        elif words[:1] == ["property"] and in_vertex and words[1] in _PLY_TYPES:
            fields.append((words[2], _PLY_TYPES[words[1]]))
    rows = np.memmap(ply, dtype=np.dtype(fields), mode="r", offset=end + len(b"end_header\n"), shape=(count,))
    pick = np.linspace(0, count - 1, min(count, max_splats)).astype(np.int64) if count > max_splats else slice(None)
    xyz = np.stack([np.asarray(rows["x"][pick], np.float64), np.asarray(rows["y"][pick], np.float64),
                    np.asarray(rows["z"][pick], np.float64)], axis=1)
    rgb = np.clip(0.5 + SH_C0 * np.stack([np.asarray(rows[f"f_dc_{i}"][pick]) for i in range(3)], axis=1), 0, 1)
    alpha = 1 / (1 + np.exp(-np.asarray(rows["opacity"][pick], np.float64)))
    names = rows.dtype.names or ()
    scales = (np.stack([np.asarray(rows[f"scale_{i}"][pick], np.float64) for i in range(3)], axis=1)
              if all(f"scale_{i}" in names for i in range(3)) else None)
    del rows
    keep = np.isfinite(xyz).all(axis=1) & (alpha > 0.2)
    xyz, rgb = xyz[keep], rgb[keep]
    scales = scales[keep] if scales is not None else None

    width = 2 * max_edge
    height = max(1, round(width / aspect))
    image = np.zeros((height, width, 3), np.uint8)
    image[:] = (21, 24, 29)  # the viewer's background
    if len(xyz):
        right, up, back = camera_axes()
        x, y, depth = xyz @ right, xyz @ up, xyz @ back
        lo_x, hi_x = np.percentile(x, [1, 99])
        lo_y, hi_y = np.percentile(y, [1, 99])
        scale = 0.9 / max((hi_x - lo_x) / width, (hi_y - lo_y) / height, 1e-12)
        px = np.round(width / 2 + (x - (lo_x + hi_x) / 2) * scale).astype(np.int64)
        py = np.round(height / 2 - (y - (lo_y + hi_y) / 2) * scale).astype(np.int64)
        colour = (rgb * 255).astype(np.uint8)
        # Each splat as a disc about its Gaussian's size (largest axis, 1.5 sigma), 1 to _MAX_DOT pixels.
        sigma = np.exp(scales.max(axis=1)) * scale if scales is not None else np.ones(len(xyz))
        radius = np.clip(np.round(1.5 * sigma), 1, _MAX_DOT).astype(np.int64)
        near_first = np.argsort(-depth, kind="stable")  # depth grows towards the camera
        px, py, depth, colour, radius = px[near_first], py[near_first], depth[near_first], colour[near_first], radius[near_first]
        zbuf = np.full(height * width, -np.inf)
        pixels = image.reshape(-1, 3)
        for r in np.unique(radius):
            mine = np.nonzero(radius == r)[0]
            for dy in range(-r, r + 1):
                for dx in range(-r, r + 1):
                    if dx * dx + dy * dy > r * r:
                        continue
                    cx, cy = px[mine] + dx, py[mine] + dy
                    inside = (cx >= 0) & (cx < width) & (cy >= 0) & (cy < height)
                    flat, who = cy[inside] * width + cx[inside], mine[inside]  # still nearest first
                    first = np.unique(flat, return_index=True)[1]  # so each pixel's first is its nearest
                    flat, who = flat[first], who[first]
                    near = depth[who]
                    closer = near > zbuf[flat]
                    zbuf[flat[closer]] = near[closer]
                    pixels[flat[closer]] = colour[who[closer]]
    picture = Image.fromarray(image).resize((max_edge, max(1, round(max_edge / aspect))), Image.Resampling.LANCZOS)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    picture.save(tmp, "JPEG", quality=85, optimize=True)
    os.replace(tmp, out)
    return out


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
