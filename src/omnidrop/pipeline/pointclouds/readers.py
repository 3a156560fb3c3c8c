"""Read point clouds in chunks of at most `CHUNK` points, whatever the format, into one record layout.

Each reader yields NumPy structured arrays of `POINT` (x, y, z in the file's units; intensity and
colour as 16-bit; `scan`, the index of the E57 scan or 0) and describes the file in `info`:
points, whether colour/intensity exist, CRS, and E57 scan poses. Memory is one chunk at a time:
laspy's chunk iterator for LAS/LAZ, libE57 compressed-vector reads into fixed buffers, memory-mapped
binary PLY/PCD and text read block by block.
"""

from __future__ import annotations

import io
import re
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

CHUNK = 1_000_000

POINT = np.dtype([("x", "f8"), ("y", "f8"), ("z", "f8"), ("intensity", "u2"),
                  ("red", "u2"), ("green", "u2"), ("blue", "u2"), ("scan", "u2")])


class CloudError(Exception):
    """The file is not a point cloud this reader can read (corrupt, truncated, unsupported variant)."""


@dataclass
class CloudInfo:
    format: str
    points: int | None = None  # as the header says; the converter counts what it actually read
    has_color: bool = False
    has_intensity: bool = False
    crs: dict[str, Any] | None = None
    scans: list[dict[str, Any]] = field(default_factory=list)
    scale: float | None = None  # the input's coordinate resolution, when it has one (LAS)


class Cloud(ABC):
    """One opened point cloud: its header facts, and its points in bounded chunks."""

    info: CloudInfo

    @abstractmethod
    def chunks(self) -> Iterator[np.ndarray]:
        """The points, a bounded chunk at a time (memory flat in the input's size)."""


def open_cloud(path: Path, fmt: str) -> Cloud:
    """The reader for `fmt` (the classifier's `details["format"]`)."""
    readers = {"las": _Las, "laz": _Las, "e57": _E57, "ply": _Ply, "pcd": _Pcd, "xyz": _Text, "pts": _Text, "asc": _Text, "txt": _Text}
    if fmt not in readers:
        raise CloudError(f"no point cloud reader for format {fmt!r}")
    try:
        return readers[fmt](Path(path), fmt)
    except CloudError:
        raise
    except Exception as exc:  # noqa: BLE001 - any library failure on open is a bad file
        raise CloudError(f"cannot read {fmt.upper()}: {exc}") from exc


def _empty(n: int) -> np.ndarray:
    return np.zeros(n, POINT)


def _to16(values: np.ndarray, full_scale: float) -> np.ndarray:
    """Colour or intensity of any range as 0..65535 (LAS/COPC's 16-bit convention)."""
    v = np.asarray(values, dtype=np.float64)
    if full_scale <= 0:
        return np.zeros(len(v), np.uint16)
    return np.clip(np.rint(v * (65535.0 / full_scale)), 0, 65535).astype(np.uint16)


# --- LAS / LAZ ------------------------------------------------------------------------------------

class _Las(Cloud):
    def __init__(self, path: Path, fmt: str) -> None:
        import laspy

        self.path = path
        with laspy.open(path) as reader:
            h = reader.header
            dims = set(h.point_format.dimension_names)
            self.info = CloudInfo(fmt, points=int(h.point_count), has_color={"red", "green", "blue"} <= dims,
                                  has_intensity="intensity" in dims, crs=_las_crs(h), scale=float(min(h.scales)))

    def chunks(self) -> Iterator[np.ndarray]:
        import laspy

        try:
            with laspy.open(self.path) as reader:
                for pts in reader.chunk_iterator(CHUNK):
                    out = _empty(len(pts))
                    out["x"], out["y"], out["z"] = pts.x, pts.y, pts.z
                    if self.info.has_intensity:
                        out["intensity"] = pts.intensity
                    if self.info.has_color:
                        out["red"], out["green"], out["blue"] = pts.red, pts.green, pts.blue
                    yield out
        except Exception as exc:  # noqa: BLE001 - truncated or corrupt point data
            raise CloudError(f"cannot read {self.info.format.upper()} points: {exc}") from exc


def _las_crs(header) -> dict[str, Any] | None:
    """The CRS a LAS file declares: its OGC WKT VLR, else the EPSG code of its GeoTIFF keys."""
    crs: dict[str, Any] = {}
    for vlr in list(header.vlrs) + list(getattr(header, "evlrs", None) or []):
        if vlr.record_id == 2112 and hasattr(vlr, "string"):
            wkt = vlr.string.rstrip("\x00").strip()
            if wkt:
                crs["wkt"] = wkt
                if m := re.search(r'AUTHORITY\["EPSG",\s*"(\d+)"\]\s*\]\s*$', wkt) or re.search(r'ID\["EPSG",\s*(\d+)\]\s*\]\s*$', wkt):
                    crs["epsg"] = int(m[1])
        elif vlr.record_id == 34735 and hasattr(vlr, "geo_keys"):
            keys = {k.id: k.value_offset for k in vlr.geo_keys}
            code = keys.get(3072) or keys.get(2048)  # projected, else geographic CRS type key
            if code and code not in (0, 32767):
                crs.setdefault("epsg", int(code))
    return crs or None


# --- E57 ------------------------------------------------------------------------------------------

class _E57(Cloud):
    def __init__(self, path: Path, fmt: str) -> None:
        import pye57

        self.path = path
        scans = []
        has_color = has_intensity = False
        with pye57.E57(str(path)) as e57:
            for i in range(e57.scan_count):
                h = e57.get_header(i)
                fields = set(h.point_fields)
                has_color |= {"colorRed", "colorGreen", "colorBlue"} <= fields
                has_intensity |= "intensity" in fields
                scan: dict[str, Any] = {"index": i, "points": int(h.point_count)}
                name = _e57_string(h.node, "name")
                if name:
                    scan["name"] = name
                if guid := _e57_string(h.node, "guid"):
                    scan["guid"] = guid
                if h.has_pose():
                    scan["position"] = [float(v) for v in h.translation]
                    scan["rotation"] = [float(v) for v in h.rotation]  # quaternion w, x, y, z
                scans.append(scan)
            coord = _e57_string(e57.root, "coordinateMetadata")
        self.info = CloudInfo(fmt, points=sum(s["points"] for s in scans), has_color=has_color,
                              has_intensity=has_intensity, crs={"wkt": coord} if coord else None, scans=scans)

    def chunks(self) -> Iterator[np.ndarray]:
        import pye57
        from pye57 import libe57
        from pyquaternion import Quaternion

        try:
            with pye57.E57(str(self.path)) as e57:
                for i in range(e57.scan_count):
                    yield from self._scan(e57, i, libe57, Quaternion)
        except CloudError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise CloudError(f"cannot read E57 points: {exc}") from exc

    def _scan(self, e57, index: int, libe57, Quaternion) -> Iterator[np.ndarray]:
        h = e57.get_header(index)
        fields = set(h.point_fields)
        if {"cartesianX", "cartesianY", "cartesianZ"} <= fields:
            coords, spherical = ["cartesianX", "cartesianY", "cartesianZ"], False
            invalid = "cartesianInvalidState"
        elif {"sphericalRange", "sphericalAzimuth", "sphericalElevation"} <= fields:
            coords, spherical = ["sphericalRange", "sphericalAzimuth", "sphericalElevation"], True
            invalid = "sphericalInvalidState"
        else:
            raise CloudError(f"E57 scan {index} has neither cartesian nor spherical coordinates")
        wanted = coords + [f for f in ("intensity", "colorRed", "colorGreen", "colorBlue", invalid) if f in fields]
        n = int(h.point_count)
        cap = max(1, min(CHUNK, n))
        data, buffers = e57.make_buffers(wanted, cap)
        rot = Quaternion(h.rotation).rotation_matrix if h.has_pose() else None
        trans = h.translation if h.has_pose() else None
        ilimits = _e57_limits(h.node, "intensityLimits", "intensity")
        climits = _e57_limits(h.node, "colorLimits", "colorRed")
        reader = h.points.reader(buffers)
        try:
            while (got := reader.read()) > 0:
                a, b, c = (data[f][:got] for f in coords)
                if spherical:
                    ce = np.cos(c)
                    xyz = np.stack([a * ce * np.cos(b), a * ce * np.sin(b), a * np.sin(c)], axis=1)
                else:
                    xyz = np.stack([a, b, c], axis=1)
                keep = data[invalid][:got] == 0 if invalid in data else slice(None)
                xyz = xyz[keep]
                if rot is not None:
                    xyz = xyz @ rot.T + trans
                out = _empty(len(xyz))
                out["x"], out["y"], out["z"] = xyz[:, 0], xyz[:, 1], xyz[:, 2]
                if "intensity" in data:
                    lo, hi = ilimits
                    out["intensity"] = _to16(data["intensity"][:got][keep] - lo, hi - lo)
                if "colorRed" in data:
                    lo, hi = climits
                    for src, dst in (("colorRed", "red"), ("colorGreen", "green"), ("colorBlue", "blue")):
                        out[dst] = _to16(data[src][:got][keep].astype(np.float64) - lo, hi - lo)
                out["scan"] = index
                yield out
        finally:
            reader.close()


def _e57_string(node, name: str) -> str | None:
    try:
        if node.isDefined(name):
            value = node[name].value()
            return str(value) if value not in (None, "") else None
    except Exception:  # noqa: BLE001 - an odd node type: not a string
        return None
    return None


def _e57_limits(node, limits: str, fieldname: str) -> tuple[float, float]:
    """The value range the scan declares for intensity or colour (E57 leaves it to the writer)."""
    keys = ("intensityMinimum", "intensityMaximum") if fieldname == "intensity" else ("colorRedMinimum", "colorRedMaximum")
    if node.isDefined(limits):
        lim = node[limits]
        if all(lim.isDefined(k) for k in keys):
            lo, hi = (float(lim[k].value()) for k in keys)
            if hi > lo:
                return lo, hi
    return (0.0, 1.0) if fieldname == "intensity" else (0.0, 255.0)


# --- PLY ------------------------------------------------------------------------------------------

_PLY_TYPES = {"char": "i1", "int8": "i1", "uchar": "u1", "uint8": "u1", "short": "i2", "int16": "i2",
              "ushort": "u2", "uint16": "u2", "int": "i4", "int32": "i4", "uint": "u4", "uint32": "u4",
              "float": "f4", "float32": "f4", "double": "f8", "float64": "f8"}
_RGB = (("red", "green", "blue"), ("r", "g", "b"), ("diffuse_red", "diffuse_green", "diffuse_blue"))


def _color_fields(names: list[str]) -> tuple[str, str, str] | None:
    return next((c for c in _RGB if set(c) <= set(names)), None)


class _Ply(Cloud):
    def __init__(self, path: Path, fmt: str) -> None:
        self.path = path
        with open(path, "rb") as f:
            head = f.read(64 * 1024)
        end = head.find(b"end_header")
        if end < 0:
            raise CloudError("PLY header has no end_header")
        self.offset = head.index(b"\n", end) + 1
        encoding, self.vertices, props, before = None, 0, [], 0
        element = None
        for line in head[:end].decode("ascii", "replace").splitlines():
            w = line.split()
            if not w:
                continue
            if w[0] == "format":
                encoding = w[1]
            elif w[0] == "element":
                element = w[1]
                if element == "vertex":
                    self.vertices = int(w[2])
                elif self.vertices == 0:
                    before += 1  # an element stored before the vertices
            elif w[0] == "property" and element == "vertex":
                if w[1] == "list":
                    raise CloudError("PLY vertex element has list properties")
                if w[1] not in _PLY_TYPES:
                    raise CloudError(f"PLY property type {w[1]!r} unknown")
                props.append((w[2], _PLY_TYPES[w[1]]))
        if before:
            raise CloudError("PLY has elements before its vertices")
        names = [p[0] for p in props]
        if not {"x", "y", "z"} <= set(names):
            raise CloudError("PLY vertices have no x, y, z")
        if encoding not in ("ascii", "binary_little_endian", "binary_big_endian"):
            raise CloudError(f"PLY format {encoding!r} unknown")
        self.encoding = encoding
        order = ">" if encoding == "binary_big_endian" else "<"
        self.dtype = np.dtype([(n, order + t) for n, t in props])
        self.names = names
        rgb = _color_fields(names)
        self.rgb = rgb
        self.info = CloudInfo(fmt, points=self.vertices, has_color=rgb is not None,
                              has_intensity=any(n in names for n in ("intensity", "scalar_intensity")))

    def chunks(self) -> Iterator[np.ndarray]:
        if self.encoding == "ascii":
            # ASCII values carry the declared types too (uchar colour is 0..255, not 0..1).
            yield from _text_chunks(self.path, self.offset, self.names, self.vertices,
                                    lambda rec: self._convert(rec.astype(self.dtype)))
            return
        need = self.offset + self.vertices * self.dtype.itemsize
        if self.path.stat().st_size < need:
            raise CloudError(f"PLY is truncated: {self.vertices} vertices need {need} bytes")
        data = np.memmap(self.path, self.dtype, "r", offset=self.offset, shape=(self.vertices,))
        for start in range(0, self.vertices, CHUNK):
            yield self._convert(data[start:start + CHUNK])

    def _convert(self, rec) -> np.ndarray:
        return _records_to_points(rec, self.rgb)


def _records_to_points(rec, rgb) -> np.ndarray:
    out = _empty(len(rec))
    out["x"], out["y"], out["z"] = rec["x"], rec["y"], rec["z"]
    names = rec.dtype.names
    inten = next((n for n in ("intensity", "scalar_intensity", "i") if n in names), None)
    if inten:
        col = rec[inten]
        out["intensity"] = _to16(col, 1.0) if col.dtype.kind == "f" and float(np.max(col, initial=0)) <= 1.0 else np.clip(col, 0, 65535)
    if rgb:
        for src, dst in zip(rgb, ("red", "green", "blue")):
            col = rec[src]
            full = 1.0 if col.dtype.kind == "f" else (65535.0 if col.dtype.itemsize >= 2 else 255.0)
            out[dst] = _to16(col, full)
    return out


# --- PCD ------------------------------------------------------------------------------------------

_PCD_TYPES = {("F", 4): "f4", ("F", 8): "f8", ("U", 1): "u1", ("U", 2): "u2", ("U", 4): "u4",
              ("I", 1): "i1", ("I", 2): "i2", ("I", 4): "i4"}


class _Pcd(Cloud):
    def __init__(self, path: Path, fmt: str) -> None:
        self.path = path
        with open(path, "rb") as f:
            head = f.read(64 * 1024)
        meta: dict[str, list[str]] = {}
        pos = 0
        for line in head.split(b"\n"):
            pos += len(line) + 1
            words = line.decode("ascii", "replace").split()
            if not words or words[0].startswith("#"):
                continue
            meta[words[0].upper()] = words[1:]
            if words[0].upper() == "DATA":
                break
        try:
            names, sizes, types = meta["FIELDS"], [int(s) for s in meta["SIZE"]], meta["TYPE"]
            counts = [int(c) for c in meta.get("COUNT", ["1"] * len(names))]
            self.points = int(meta["POINTS"][0])
            self.encoding = meta["DATA"][0]
        except (KeyError, IndexError, ValueError) as exc:
            raise CloudError(f"PCD header incomplete: {exc}") from None
        if self.encoding not in ("ascii", "binary"):
            raise CloudError(f"PCD DATA {self.encoding} is not supported (ascii and binary are)")
        fields = []
        for n, s, t, c in zip(names, sizes, types, counts):
            if (t, s) not in _PCD_TYPES:
                raise CloudError(f"PCD field {n} has unknown type {t}{s}")
            fields.append((n, "<" + _PCD_TYPES[(t, s)], (c,)) if c > 1 else (n, "<" + _PCD_TYPES[(t, s)]))
        if not {"x", "y", "z"} <= set(names):
            raise CloudError("PCD has no x, y, z fields")
        self.dtype, self.names, self.offset = np.dtype(fields), names, pos
        self.packed_rgb = next((n for n in ("rgb", "rgba") if n in names), None)
        self.info = CloudInfo(fmt, points=self.points, has_color=self.packed_rgb is not None,
                              has_intensity="intensity" in names)

    def chunks(self) -> Iterator[np.ndarray]:
        if self.encoding == "ascii":
            yield from _text_chunks(self.path, self.offset, self.names, self.points,
                                    lambda rec: self._convert(rec.astype(self.dtype)))
            return
        if self.path.stat().st_size < self.offset + self.points * self.dtype.itemsize:
            raise CloudError("PCD is truncated")
        data = np.memmap(self.path, self.dtype, "r", offset=self.offset, shape=(self.points,))
        for start in range(0, self.points, CHUNK):
            yield self._convert(data[start:start + CHUNK])

    def _convert(self, rec) -> np.ndarray:
        out = _records_to_points(rec, None)
        if self.packed_rgb:
            packed = np.ascontiguousarray(rec[self.packed_rgb]).astype(np.float32).view(np.uint32)
            out["red"] = ((packed >> 16) & 0xFF) * 257
            out["green"] = ((packed >> 8) & 0xFF) * 257
            out["blue"] = (packed & 0xFF) * 257
        return out


# --- XYZ / PTS / TXT --------------------------------------------------------------------------------

class _Text(Cloud):
    """Whitespace or comma separated columns: x y z [intensity] [r g b] (Leica PTS), or x y z r g b."""

    def __init__(self, path: Path, fmt: str) -> None:
        self.path = path
        with open(path, "rb") as f:
            head = f.read(64 * 1024).decode("utf-8", "replace").splitlines()
        lines = [ln for ln in head[:-1] if ln.strip() and not ln.lstrip().startswith(("#", "//"))] or head
        first = lines[0].replace(",", " ").split() if lines else []
        self.count = None
        self.offset = 0
        if len(first) == 1 and first[0].isdigit():  # PTS: a point count line first (per scan)
            self.count = int(first[0])
            lines = lines[1:]
        if not lines:
            raise CloudError("no points in the text file")
        cols = len(lines[0].replace(",", " ").split())
        try:
            [float(v) for v in lines[0].replace(",", " ").split()]
        except ValueError:
            raise CloudError("the first point line is not numbers") from None
        if cols < 3:
            raise CloudError(f"point lines have {cols} columns; x y z needs 3")
        names = ["x", "y", "z"]
        if cols in (4, 7):
            names.append("intensity")
        if cols >= 6:
            names += ["red", "green", "blue"]
        names += [f"c{i}" for i in range(len(names), cols)]
        self.names = names
        self.info = CloudInfo(fmt, points=self.count, has_color="red" in names, has_intensity="intensity" in names)

    def chunks(self) -> Iterator[np.ndarray]:
        yield from _text_chunks(self.path, 0, self.names, None, self._convert)

    def _convert(self, rec) -> np.ndarray:
        out = _empty(len(rec))
        out["x"], out["y"], out["z"] = rec["x"], rec["y"], rec["z"]
        if "intensity" in rec.dtype.names:
            i = rec["intensity"]
            if self.info.format == "pts":  # Leica PTS intensity is -2048..2047
                out["intensity"] = _to16(i + 2048, 4095)
            else:
                out["intensity"] = _to16(i, 1.0) if float(np.max(i, initial=0)) <= 1.0 else np.clip(i, 0, 65535)
        if "red" in rec.dtype.names:
            for n in ("red", "green", "blue"):
                out[n] = _to16(rec[n], 255.0)
        return out


def _text_chunks(path: Path, offset: int, names: list[str], limit: int | None, convert) -> Iterator[np.ndarray]:
    """Numeric text rows in blocks of CHUNK lines; lines that are not rows of len(names) numbers
    (PTS count lines, comments, blank lines) are skipped."""
    cols = len(names)
    dtype = np.dtype([(n, "f8") for n in names])
    done = 0
    with open(path, "rb") as raw:
        raw.seek(offset)
        f = io.TextIOWrapper(raw, encoding="utf-8", errors="replace")
        while True:
            block = f.readlines(64 * 1024 * 1024 // 4)  # about 16 MiB of text
            if not block:
                break
            rec = _parse_rows(block, dtype, cols)
            if limit is not None:
                rec = rec[: max(0, limit - done)]
            if len(rec):
                done += len(rec)
                yield convert(rec)
            if limit is not None and done >= limit:
                break
    if done == 0:
        raise CloudError("no point rows could be read")



def _parse_rows(block: list[str], dtype: np.dtype, cols: int) -> np.ndarray:
    text = "".join(block).replace(",", " ")
    try:  # the fast path: every line a row of numbers
        values = np.loadtxt(io.StringIO(text), dtype=np.float64, ndmin=2, comments=("#", "//"))
    except ValueError:  # a line that is not: the slow path below sorts the rows out one by one
        values = None
    if values is not None and values.shape[1] == cols:
        return np.rec.fromarrays(values.T, dtype=dtype).view(np.ndarray)
    rows = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) != cols:
            continue  # PTS per-scan count lines, headers
        try:
            rows.append(tuple(float(p) for p in parts))
        except ValueError:
            continue
    return np.array(rows, dtype=dtype)
