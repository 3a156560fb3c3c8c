"""One point cloud file in, a COPC file and its description out (and the E57's panoramas).

`convert_cloud` is the whole of the work for one file; the project job runs it in a child process
(pipeline/child.py), so the reader's and writer's memory goes when it ends.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omnidrop.pipeline.pointclouds.copc import write_copc
from omnidrop.pipeline.pointclouds.readers import CloudError, open_cloud

COPC_NAME = "cloud.copc.laz"


@dataclass
class Converted:
    copc: Path
    details: dict[str, Any]
    panoramas: list[Path] = field(default_factory=list)


def convert_cloud(path: Path, fmt: str, out: Path, progress: Callable[[float], None] | None = None) -> Converted:
    """Read `path` (format `fmt`), write `out/cloud.copc.laz` and, for E57, `out/panorama_NNNN.jpg`."""
    out.mkdir(parents=True, exist_ok=True)
    cloud = open_cloud(Path(path), fmt)
    info = cloud.info
    wkt = (info.crs or {}).get("wkt", "") if fmt in ("las", "laz") else ""
    result = write_copc(cloud.chunks(), out / COPC_NAME, scale=info.scale, wkt=wkt, workdir=out, progress=progress)
    lo, hi = result.bounds
    details: dict[str, Any] = {
        "points": result.points,
        "bounds": {"min": [round(v, 6) for v in lo], "max": [round(v, 6) for v in hi]},
        "crs": info.crs,
        "color": info.has_color,
        "intensity": info.has_intensity,
        "lod": {"format": "copc", "nodes": result.nodes, "depth": result.depth, "scale": result.scale},
    }
    if info.scans:
        details["scans"] = info.scans
    panoramas: list[Path] = []
    if fmt == "e57":
        found, panoramas = e57_panoramas(Path(path), out, info.scans)
        if found:
            details["panoramas"] = found
    return Converted(out / COPC_NAME, details, panoramas)


_PANORAMIC = ("sphericalRepresentation", "cylindricalRepresentation")


def e57_panoramas(path: Path, out: Path, scans: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[Path]]:
    """The E57's panoramic images2D (spherical, cylindrical) as JPEG files `panorama_NNNN.jpg`.

    Pinhole images (a scanner's single camera shots) are not panoramas and are left out.
    """
    import pye57

    by_guid = {s["guid"]: s["index"] for s in scans if "guid" in s}
    found: list[dict[str, Any]] = []
    files: list[Path] = []
    try:
        e57 = pye57.E57(str(path))
    except Exception as exc:  # noqa: BLE001
        raise CloudError(f"cannot read E57: {exc}") from exc
    with e57:
        root = e57.root
        if not root.isDefined("images2D"):
            return [], []
        images = root["images2D"]
        for i in range(images.childCount()):
            node = images[i]
            rep_name = next((r for r in _PANORAMIC if node.isDefined(r)), None)
            if rep_name is None:
                continue
            rep = node[rep_name]
            blob_name = next((b for b in ("jpegImage", "pngImage") if rep.isDefined(b)), None)
            if blob_name is None:
                continue
            blob = rep[blob_name]
            data = bytearray(blob.byteCount())
            blob.read(data, 0, len(data))
            n = len(files) + 1
            target = out / f"panorama_{n:04d}.jpg"
            _save_jpeg(bytes(data), blob_name, target)
            entry: dict[str, Any] = {"role": target.stem, "projection": rep_name.removesuffix("Representation")}
            if node.isDefined("name"):
                entry["name"] = str(node["name"].value())
            for key in ("imageWidth", "imageHeight"):
                if rep.isDefined(key):
                    entry["width" if key == "imageWidth" else "height"] = int(rep[key].value())
            if node.isDefined("associatedData3DGuid"):
                guid = str(node["associatedData3DGuid"].value())
                if guid in by_guid:
                    entry["scan"] = by_guid[guid]
            if node.isDefined("pose"):
                pose = node["pose"]
                if pose.isDefined("translation"):
                    t = pose["translation"]
                    entry["position"] = [float(t[k].value()) for k in ("x", "y", "z")]
                if pose.isDefined("rotation"):
                    r = pose["rotation"]
                    entry["rotation"] = [float(r[k].value()) for k in ("w", "x", "y", "z")]
            found.append(entry)
            files.append(target)
    return found, files


def _save_jpeg(data: bytes, blob_name: str, target: Path) -> None:
    if blob_name == "jpegImage" and data[:3] == b"\xff\xd8\xff":
        target.write_bytes(data)
        return
    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:
        im.convert("RGB").save(target, "JPEG", quality=90)
