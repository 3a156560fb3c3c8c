"""Writing a trained splat: the standard 3DGS PLY and Niantic's SPZ (both with gsply), and the captures
API's `sogs-sh0` profile (PlayCanvas's splat-transform CLI: SOG with spherical harmonics cut to band 0,
unbundled as meta.json plus its WebP textures, zipped).

Gaussians are held as the PLY stores them: means, log scales, unit quaternions (w, x, y, z), logit
opacities, SH DC coefficients `sh0` (N, 3) and the higher bands `shN` (N, K, 3).
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from omnidrop.pipeline.splats import find_cli

SOG_FILES = ("meta.json", "means_l.webp", "means_u.webp", "quats.webp", "scales.webp", "sh0.webp")


class WriterError(Exception):
    pass


@dataclass
class Splat:
    means: np.ndarray
    scales: np.ndarray
    quats: np.ndarray
    opacities: np.ndarray
    sh0: np.ndarray
    shN: np.ndarray

    def __len__(self) -> int:
        return len(self.means)

    def aabb(self) -> dict[str, list[float]] | None:
        """The 1st to 99th percentile of the centres per axis, as the sparse cloud's `aabb`: a trained
        splat's floaters lie far outside the scene, and a box around all of them says little about it.
        None (the spec's null) for a splat with no Gaussians, which has no box."""
        if not len(self):
            return None
        low, high = np.percentile(self.means, [1, 99], axis=0)
        return {"min": [float(v) for v in low], "max": [float(v) for v in high]}

    def finite(self) -> Splat:
        """Without Gaussians that have a NaN or infinite value anywhere (a diverged optimisation's)."""
        ok = np.ones(len(self), bool)
        for array in (self.means, self.scales, self.quats, self.opacities, self.sh0, self.shN):
            ok &= np.isfinite(array.reshape(len(self), -1)).all(1)
        return Splat(*(a[ok] for a in (self.means, self.scales, self.quats, self.opacities, self.sh0, self.shN)))


def _data(splat: Splat):
    import gsply

    quats = splat.quats / np.linalg.norm(splat.quats, axis=1, keepdims=True)
    return gsply.GSData(means=splat.means.astype(np.float32), scales=splat.scales.astype(np.float32),
                        quats=quats.astype(np.float32), opacities=splat.opacities.astype(np.float32).reshape(-1),
                        sh0=splat.sh0.astype(np.float32), shN=splat.shN.astype(np.float32))


def write_ply(splat: Splat, path: Path) -> None:
    import gsply

    gsply.plywrite(path, _data(splat))


def write_spz(splat: Splat, path: Path) -> None:
    import gsply

    gsply.write_spz(path, _data(splat))


def splat_transform_command(configured: str = "") -> list[str]:
    """The CLI the project job uses too (pipeline/splats.find_cli: as configured, on PATH, or the
    checkout's pinned tools/splat-transform)."""
    found = find_cli(configured)
    if found is None:
        raise WriterError("splat-transform is not installed: run `npm ci --omit=peer` in tools/splat-transform "
                          "(scripts/serve does) or set OMNIDROP_SPLAT_TRANSFORM")
    return found


def write_sogs_sh0(ply: Path, dest_zip: Path, command: list[str], timeout: float = 3600) -> list[str]:
    """The sogs-sh0 profile of a PLY: splat-transform writes SOG with bands above 0 removed, unbundled
    (meta.json and five WebP textures); they are zipped flat into `dest_zip`. Returns the zipped names."""
    with tempfile.TemporaryDirectory(prefix="omnidrop-sog-") as tmp:
        out = Path(tmp) / "meta.json"
        run = subprocess.run([*command, "-q", "-w", "-g", "cpu", str(ply), "--filter-harmonics", "0", str(out)],
                             capture_output=True, text=True, timeout=timeout, env={**os.environ, "NO_COLOR": "1"})
        if run.returncode != 0:
            raise WriterError(f"splat-transform failed ({run.returncode}): {(run.stderr or run.stdout).strip()[-500:]}")
        names = sorted(p.name for p in Path(tmp).iterdir() if p.is_file())
        if "meta.json" not in names:
            raise WriterError(f"splat-transform wrote no meta.json (wrote {names})")
        with zipfile.ZipFile(dest_zip, "w", zipfile.ZIP_STORED) as zf:  # WebP is compressed already
            for name in names:
                zf.write(Path(tmp) / name, name)
        return names
