"""Small point clouds of every supported format, made in the test (laspy, pye57, plain bytes)."""

from __future__ import annotations

import io
from pathlib import Path

import laspy
import numpy as np
from PIL import Image

WKT = ('PROJCS["WGS 84 / UTM zone 32N",GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563]],'
       'PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433]],PROJECTION["Transverse_Mercator"],'
       'PARAMETER["central_meridian",9],UNIT["metre",1],AUTHORITY["EPSG","32632"]]')


def helix(n: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = rng.random(n) * 8 * np.pi
    return np.stack([np.cos(t) * 10 + rng.normal(0, 0.05, n), np.sin(t) * 10 + rng.normal(0, 0.05, n), t], axis=1)


def las(path: Path, n: int = 5000, *, compressed: bool = False, crs: bool = True) -> Path:
    h = laspy.LasHeader(point_format=7, version="1.4")
    h.scales, h.offsets = [0.001] * 3, [500000, 5000000, 0]
    if crs:
        h.vlrs.append(laspy.vlrs.known.WktCoordinateSystemVlr(WKT))
    data = laspy.LasData(h)
    xyz = helix(n) + [500100, 5000200, 10]
    data.x, data.y, data.z = xyz[:, 0], xyz[:, 1], xyz[:, 2]
    data.intensity = np.arange(n, dtype=np.uint16) * 7
    data.red = np.full(n, 65535, np.uint16)
    data.green = np.arange(n, dtype=np.uint16)
    data.blue = np.zeros(n, np.uint16)
    data.write(path, laz_backend=laspy.LazBackend.Lazrs if compressed else None)
    return path


def ply(path: Path, n: int = 3000, *, binary: bool = True) -> Path:
    xyz = helix(n, 2).astype(np.float32)
    rgb = np.tile(np.array([[200, 100, 50]], np.uint8), (n, 1))
    header = (f"ply\nformat {'binary_little_endian' if binary else 'ascii'} 1.0\nelement vertex {n}\n"
              "property float x\nproperty float y\nproperty float z\n"
              "property uchar red\nproperty uchar green\nproperty uchar blue\nend_header\n").encode()
    if binary:
        rec = np.zeros(n, [("x", "<f4"), ("y", "<f4"), ("z", "<f4"), ("red", "u1"), ("green", "u1"), ("blue", "u1")])
        rec["x"], rec["y"], rec["z"] = xyz.T
        rec["red"], rec["green"], rec["blue"] = rgb.T
        body = rec.tobytes()
    else:
        body = "".join(f"{x} {y} {z} {r} {g} {b}\n" for (x, y, z), (r, g, b) in zip(xyz, rgb)).encode()
    path.write_bytes(header + body)
    return path


def xyz(path: Path, n: int = 2000) -> Path:
    pts = helix(n, 3)
    path.write_text("".join(f"{x:.4f} {y:.4f} {z:.4f} 128 64 32\n" for x, y, z in pts))
    return path


def pts(path: Path, n: int = 1500) -> Path:
    """Leica PTS: a count line, then x y z intensity r g b."""
    p = helix(n, 4)
    path.write_text(f"{n}\n" + "".join(f"{x:.4f} {y:.4f} {z:.4f} {i % 4000 - 2000} 10 20 30\n"
                                       for i, (x, y, z) in enumerate(p)))
    return path


def panorama_jpeg(size=(256, 128)) -> bytes:
    im = Image.new("RGB", size, (20, 90, 200))
    im.paste((240, 200, 30), (0, size[1] // 2, size[0], size[1]))
    buf = io.BytesIO()
    im.save(buf, "JPEG")
    return buf.getvalue()


def e57(path: Path, n: int = 2000, *, panorama: bool = True) -> Path:
    """Two scans with poses (the second 10 m along x, turned 90° about z) and one spherical image."""
    import pye57
    from pye57 import libe57

    rng = np.random.default_rng(5)
    with pye57.E57(str(path), mode="w") as e:
        for i, (rot, trans) in enumerate([((1, 0, 0, 0), (0, 0, 0)),
                                          ((np.cos(np.pi / 4), 0, 0, np.sin(np.pi / 4)), (10, 0, 0))]):
            p = helix(n, 10 + i)
            e.write_scan_raw({
                "cartesianX": p[:, 0], "cartesianY": p[:, 1], "cartesianZ": p[:, 2],
                "intensity": rng.random(n).astype(np.float32),
                "colorRed": np.full(n, 255, np.uint8), "colorGreen": np.full(n, 128 * i, np.uint8),
                "colorBlue": np.zeros(n, np.uint8),
            }, name=f"Scan {i}", rotation=np.array(rot), translation=np.array(trans, float))
        if panorama:
            imf = e.image_file
            scan_guid = e.data3d[1]["guid"].value()
            jpeg = panorama_jpeg()
            image = libe57.StructureNode(imf)
            image.set("guid", libe57.StringNode(imf, "{00000000-0000-0000-0000-000000000001}"))
            image.set("name", libe57.StringNode(imf, "Pano 1"))
            image.set("associatedData3DGuid", libe57.StringNode(imf, scan_guid))
            pose = libe57.StructureNode(imf)
            rotation = libe57.StructureNode(imf)
            for k, v in zip("wxyz", (1.0, 0.0, 0.0, 0.0)):
                rotation.set(k, libe57.FloatNode(imf, v))
            translation = libe57.StructureNode(imf)
            for k, v in zip("xyz", (10.0, 0.0, 1.5)):
                translation.set(k, libe57.FloatNode(imf, v))
            pose.set("rotation", rotation)
            pose.set("translation", translation)
            image.set("pose", pose)
            rep = libe57.StructureNode(imf)
            blob = libe57.BlobNode(imf, len(jpeg))
            rep.set("jpegImage", blob)
            rep.set("imageWidth", libe57.IntegerNode(imf, 256))
            rep.set("imageHeight", libe57.IntegerNode(imf, 128))
            rep.set("pixelWidth", libe57.FloatNode(imf, 2 * np.pi / 256))
            rep.set("pixelHeight", libe57.FloatNode(imf, np.pi / 128))
            image.set("sphericalRepresentation", rep)
            e.root["images2D"].append(image)
            blob.write(bytearray(jpeg), 0, len(jpeg))
    return path
