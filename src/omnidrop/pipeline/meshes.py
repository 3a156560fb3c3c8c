"""3D models made viewable: any mesh format read (trimesh for glTF/GLB, OBJ, STL, PLY, OFF; Assimp's
`assimp` CLI turns FBX, COLLADA and 3DS into GLB first) and written as one GLB the browser's three.js loads, with its
vertex/face counts, bounds and a JPEG thumbnail.

The thumbnail is rendered here, on the CPU, with no GPU or browser: the mesh seen from the front-right
and above (glTF's +Y up, as the viewer shows it), orthographic, every triangle flat-shaded by its normal
against a light over the camera's shoulder and painted far-to-near with Pillow (painter's algorithm) at
twice the size, then scaled down. Colours come from the model (face or vertex colours, texture colours
sampled at the vertices, or the material's base colour). Triangles that cut through each other can be
ordered wrongly at their crossing; for a preview that is the price of not needing a GPU.

`to_glb(src, fmt, dest_glb, thumb, max_edge)` runs in a child process (pipeline/child.py): it returns a
plain dict and raises MeshError with a slug and a message a person understands.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

FORMATS = ("glb", "gltf", "obj", "stl", "ply", "off", "fbx", "dae", "3ds")
_ASSIMP_FORMATS = ("fbx", "dae", "3ds")  # read through Assimp (trimesh has no reader for them)
_BACKGROUND = (238, 240, 243)
_DEFAULT_COLOUR = (176, 184, 196)
_AZIMUTH, _ELEVATION = np.radians(35.0), np.radians(25.0)


class MeshError(Exception):
    """A model that could not be read or converted; `code` is a short slug for the file's record."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message)  # both in args, so it pickles back from a child process
        self.code, self.message = code, message

    def __str__(self) -> str:
        return self.message


def to_glb(src: Path, fmt: str, dest_glb: Path, thumb: Path | None = None, max_edge: int = 512,
           timeout: float = 900.0) -> dict:
    """Read `src` (a mesh in format `fmt`), write it as GLB to `dest_glb` and a JPEG thumbnail to `thumb`;
    return {"vertices", "faces", "meshes", "bounds"}. Outputs are replaced atomically (re-runs are safe)."""
    import trimesh

    if fmt not in FORMATS:
        raise MeshError("unsupported_format", f"{fmt!r} is not a mesh format omnidrop reads")
    with tempfile.TemporaryDirectory(prefix="omnidrop-mesh-") as tmp:
        if fmt == "stl":
            _check_binary_stl(Path(src))
        if fmt in _ASSIMP_FORMATS:
            src, fmt = _through_assimp(Path(src), fmt, Path(tmp), timeout), "glb"
        try:
            with open(src, "rb") as f:
                scene = trimesh.load_scene(f, file_type=fmt)
        except MeshError:
            raise
        except Exception as exc:  # noqa: BLE001 - every reader failure is "unreadable" for this file
            if fmt in ("gltf", "obj") and isinstance(exc, (KeyError, FileNotFoundError)):
                # A resource next to the file on the uploader's disk (buffers, textures) that did not come along.
                raise MeshError("unreadable", f"the {fmt.upper()} model refers to {_said(exc)}, which is not inside "
                                              "the file; upload a .glb (or a .gltf with embedded buffers)") from None
            raise MeshError("unreadable", f"cannot read the {fmt.upper()} model: {_said(exc)}") from None
        meshes = [g for g in scene.dump(concatenate=False) if isinstance(g, trimesh.Trimesh) and len(g.faces)]
        if not meshes:
            raise MeshError("no_geometry", f"the {fmt.upper()} file holds no triangles")
        if fmt == "glb":
            data = Path(src).read_bytes()  # already the web format: keep it as made (materials, extensions)
        else:
            data = scene.export(file_type="glb")
        _replace(Path(dest_glb), data)
        if thumb is not None:
            image = render(meshes, max_edge)
            out = Path(thumb).with_name(f".{Path(thumb).name}.{os.getpid()}.tmp")
            image.save(out, "JPEG", quality=85, optimize=True)
            os.replace(out, thumb)
    lo, hi = scene.bounds
    return {
        "vertices": int(sum(len(m.vertices) for m in meshes)),
        "faces": int(sum(len(m.faces) for m in meshes)),
        "meshes": len(meshes),
        "bounds": {"min": [round(float(v), 6) for v in lo], "max": [round(float(v), 6) for v in hi]},
    }


def render(meshes: list, max_edge: int = 512, aspect: float = 4 / 3) -> Image.Image:
    """The meshes (trimesh.Trimesh, world coordinates) as a flat-shaded RGB image `max_edge` wide."""
    vertices = np.concatenate([m.vertices for m in meshes]).astype(np.float64)
    offsets = np.cumsum([0] + [len(m.vertices) for m in meshes[:-1]])
    faces = np.concatenate([m.faces + o for m, o in zip(meshes, offsets, strict=True)])
    colours = np.concatenate([_face_colours(m) for m in meshes])

    right, up, back = camera_axes()
    centre = (vertices.min(axis=0) + vertices.max(axis=0)) / 2
    rel = vertices - centre
    x, y, depth = rel @ right, rel @ up, rel @ back

    width = 2 * max_edge  # drawn at twice the size, then scaled down: smooth edges
    height = max(1, round(width / aspect))
    span = max(float(np.ptp(x)) / width, float(np.ptp(y)) / height, 1e-12)
    scale = 0.88 / span  # the projected model fills 88 % of the frame, centred
    px = width / 2 + (x - (x.min() + x.max()) / 2) * scale
    py = height / 2 - (y - (y.min() + y.max()) / 2) * scale

    tri = vertices[faces]
    normals = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    lengths = np.linalg.norm(normals, axis=1)
    keep = lengths > 0
    normals[keep] /= lengths[keep, None]
    light = back + 0.6 * up - 0.4 * right
    light /= np.linalg.norm(light)
    # Two-sided (a model's winding is often inconsistent), with some ambient so nothing goes black.
    shade = 0.3 + 0.7 * np.abs(normals @ light)
    shaded = np.clip(colours[:, :3] * shade[:, None], 0, 255).astype(np.uint8)

    order = np.argsort(depth[faces].mean(axis=1), kind="stable")  # far first
    order = order[keep[order]]
    image = Image.new("RGB", (width, height), _BACKGROUND)
    draw = ImageDraw.Draw(image)
    pts = np.stack([px[faces], py[faces]], axis=2)[order].tolist()
    fills = [tuple(c) for c in shaded[order].tolist()]
    for poly, fill in zip(pts, fills, strict=True):
        draw.polygon([tuple(p) for p in poly], fill=fill, outline=fill)
    return image.resize((max_edge, max(1, round(max_edge / aspect))), Image.Resampling.LANCZOS)


def camera_axes() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The thumbnails' camera: (right, up, back) unit vectors looking at a model from the front-right and
    above, +Y up (glTF's axes, as the viewers start)."""
    ca, sa, ce, se = np.cos(_AZIMUTH), np.sin(_AZIMUTH), np.cos(_ELEVATION), np.sin(_ELEVATION)
    back = np.array([sa * ce, se, ca * ce])  # from the model towards the camera
    right = np.cross([0.0, 1.0, 0.0], back)
    right /= np.linalg.norm(right)
    return right, np.cross(back, right), back


def _face_colours(mesh) -> np.ndarray:
    visual = mesh.visual
    try:
        if visual.kind == "texture":
            try:  # the texture sampled at the vertices, averaged over each face
                vertex = np.asarray(visual.to_color().vertex_colors, dtype=np.float64)
                return vertex[mesh.faces].mean(axis=1)
            except Exception:  # noqa: BLE001 - no usable texture: the material's base colour
                main = visual.material.main_color
                return np.tile(np.asarray(main, dtype=np.float64)[:4], (len(mesh.faces), 1))
        if visual.kind == "vertex":
            return np.asarray(visual.vertex_colors, dtype=np.float64)[mesh.faces].mean(axis=1)
        if visual.kind == "face":
            return np.asarray(visual.face_colors, dtype=np.float64)
    except Exception:  # noqa: BLE001 - a colour we cannot work out falls back to the neutral one
        pass
    return np.tile(np.array([*_DEFAULT_COLOUR, 255], dtype=np.float64), (len(mesh.faces), 1))


def _through_assimp(src: Path, fmt: str, tmp: Path, timeout: float) -> Path:
    assimp = shutil.which("assimp")
    if assimp is None:
        raise MeshError("converter_missing", f"reading {fmt.upper()} needs Assimp's `assimp` command (Debian: assimp-utils)")
    source = tmp / f"input.{fmt}"  # Assimp picks its reader by extension
    os.symlink(src.resolve(), source)
    out = tmp / "converted.glb"
    try:
        done = subprocess.run([assimp, "export", str(source), str(out), "-f", "glb2"], capture_output=True,
                              text=True, timeout=timeout, check=False, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise MeshError("timeout", f"Assimp did not convert the {fmt.upper()} within {timeout:.0f} s") from None
    if done.returncode != 0 or not out.is_file():
        said = (done.stderr or done.stdout).strip().splitlines()
        reason = next((ln for ln in reversed(said) if "error" in ln.lower()), said[-1] if said else "")
        raise MeshError("unreadable", f"Assimp cannot read the {fmt.upper()} model: {reason[:300] or done.returncode}")
    return out


def _check_binary_stl(path: Path) -> None:
    """A binary STL's size is fixed by its triangle count: a file cut short (or padded) is refused, not guessed."""
    with open(path, "rb") as f:
        head = f.read(84)
        size = f.seek(0, 2)
    if len(head) < 84 or head.lstrip().startswith(b"solid") and b"facet" in _first_bytes(path, 4096):
        return  # ASCII STL (or too short to say): trimesh's reader decides
    count = int.from_bytes(head[80:84], "little")
    if size != 84 + 50 * count:
        raise MeshError("truncated", f"the binary STL declares {count} triangles ({84 + 50 * count} bytes) "
                                     f"but the file has {size} bytes")


def _first_bytes(path: Path, n: int) -> bytes:
    with open(path, "rb") as f:
        return f.read(n)


def _replace(dest: Path, data: bytes) -> None:
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, dest)


def _said(exc: Exception) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text[:300]
