"""Small 3D inputs the splat and mesh tests make themselves: a 3DGS PLY, an antimatter15 .splat, and
meshes written by trimesh (OBJ, STL, PLY, GLB) and an ASCII FBX."""

from __future__ import annotations

from pathlib import Path

import numpy as np

SH_C0 = 0.28209479177387814
_REST = {0: 0, 1: 9, 2: 24, 3: 45}


def splat_points(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Centres on a unit sphere shell and their colours (position mapped to RGB, so the ball is colourful)."""
    rng = np.random.default_rng(seed)
    v = rng.normal(size=(n, 3))
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    return v.astype(np.float32), ((v + 1) / 2).astype(np.float32)


def splat_ply(path: Path, n: int = 2000, sh_degree: int = 1, seed: int = 0, scale: float = 0.05) -> Path:
    """A binary little-endian 3DGS PLY (the layout the INRIA trainer and gsplat write)."""
    rest = _REST[sh_degree]
    names = ["x", "y", "z", "nx", "ny", "nz", "f_dc_0", "f_dc_1", "f_dc_2", *[f"f_rest_{i}" for i in range(rest)],
             "opacity", "scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2", "rot_3"]
    centres, colours = splat_points(n, seed)
    rows = np.zeros((n, len(names)), np.float32)
    rows[:, 0:3] = centres
    rows[:, 6:9] = (colours - 0.5) / SH_C0
    rows[:, 9 + rest] = 4.0  # opacity logit: nearly opaque
    rows[:, 10 + rest:13 + rest] = np.log(scale)
    rows[:, 13 + rest] = 1.0  # identity rotation
    header = f"ply\nformat binary_little_endian 1.0\nelement vertex {n}\n"
    header += "".join(f"property float {p}\n" for p in names) + "end_header\n"
    path.write_bytes(header.encode() + rows.tobytes())
    return path


def splat_file(path: Path, n: int = 1500, seed: int = 1, scale: float = 0.05) -> Path:
    """antimatter15 .splat: per splat 3 float32 position, 3 float32 scale, RGBA uint8, 4 uint8 rotation."""
    centres, colours = splat_points(n, seed)
    rec = np.zeros(n, dtype=[("pos", "<f4", 3), ("scale", "<f4", 3), ("rgba", "u1", 4), ("rot", "u1", 4)])
    rec["pos"] = centres * 2.0
    rec["scale"] = scale
    rec["rgba"][:, :3] = (colours * 255).astype(np.uint8)
    rec["rgba"][:, 3] = 240
    rec["rot"] = [255, 128, 128, 128]  # (w, x, y, z) = (1, 0, 0, 0) as 128-offset bytes
    path.write_bytes(rec.tobytes())
    return path


def coloured_scene():
    """A red box with a sphere on top, as a trimesh Scene (two meshes)."""
    import trimesh

    box = trimesh.creation.box(extents=(2.0, 1.0, 1.0))
    box.visual.face_colors = np.tile([200, 60, 40, 255], (len(box.faces), 1))
    ball = trimesh.creation.icosphere(subdivisions=3, radius=0.6)
    ball.apply_translation((0.0, 1.1, 0.0))
    ball.visual.face_colors = np.tile([60, 120, 210, 255], (len(ball.faces), 1))
    return trimesh.Scene([box, ball])


def glb(path: Path) -> Path:
    path.write_bytes(coloured_scene().export(file_type="glb"))
    return path


def cube(path: Path) -> Path:
    """A 2x1x1 box in the format of path's suffix (obj, stl, ply)."""
    import trimesh

    trimesh.creation.box(extents=(2.0, 1.0, 1.0)).export(path)
    return path


def fbx(path: Path) -> Path:
    """The 2x1x1 box as an ASCII FBX 7.3 (six quads; a polygon's last index is stored as -(i + 1))."""
    corners = [(-1, -.5, -.5), (1, -.5, -.5), (1, .5, -.5), (-1, .5, -.5), (-1, -.5, .5), (1, -.5, .5), (1, .5, .5), (-1, .5, .5)]
    quads = [(0, 3, 2, 1), (4, 5, 6, 7), (0, 1, 5, 4), (2, 3, 7, 6), (1, 2, 6, 5), (0, 4, 7, 3)]
    index = [i for q in quads for i in (q[0], q[1], q[2], -q[3] - 1)]
    xyz = ",".join(f"{c:g}" for p in corners for c in p)
    path.write_text(f"""; FBX 7.3.0 project file
FBXHeaderExtension:  {{
\tFBXHeaderVersion: 1003
\tFBXVersion: 7300
}}
Objects:  {{
\tGeometry: 1000, "Geometry::Box", "Mesh" {{
\t\tVertices: *{len(corners) * 3} {{
\t\t\ta: {xyz}
\t\t}}
\t\tPolygonVertexIndex: *{len(index)} {{
\t\t\ta: {",".join(map(str, index))}
\t\t}}
\t\tGeometryVersion: 124
\t}}
\tModel: 2000, "Model::Box", "Mesh" {{
\t\tVersion: 232
\t}}
}}
Connections:  {{
\tC: "OO",1000,2000
\tC: "OO",2000,0
}}
""")
    return path
