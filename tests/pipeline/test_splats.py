"""Gaussian splats made web-ready by splat-transform: SOG and SPZ written and read back, count, SH degree
and bounds right for PLY and .splat inputs (and for the SPZ/SOG it wrote), re-runs overwrite, bad input
is refused with a slug."""

import gzip
import struct

import pytest

from omnidrop.pipeline.splats import SplatError, find_cli, parse_summary, sog_count, web_ready
from tests.support import models

CLI = find_cli()
pytestmark = pytest.mark.skipif(CLI is None, reason="splat-transform not installed (scripts/lib/setup.sh installs it)")


def spz_header(path) -> tuple[int, int, int]:
    """(version, count, SH degree) of an SPZ v2/v3 file (gzip around a 16-byte header)."""
    with gzip.open(path, "rb") as f:
        magic, version, count, sh_degree = struct.unpack("<IIIB", f.read(13))
    assert magic == 0x5053474E  # "NGSP"
    return version, count, sh_degree


def test_a_3dgs_ply_becomes_sog_and_spz(tmp_path):
    src = models.splat_ply(tmp_path / "ball.ply", n=2000, sh_degree=1)
    made = web_ready(src, "ply", tmp_path / "out", CLI)
    assert (made.count, made.sh_degree) == (2000, 1)
    for lo, hi in zip(made.bounds["min"], made.bounds["max"], strict=True):
        assert -1.0 <= lo < -0.9 and 0.9 < hi <= 1.0  # a unit sphere shell
    assert sorted(made.outputs) == ["sog", "spz"]
    assert sog_count(made.outputs["sog"]) == 2000
    assert spz_header(made.outputs["spz"]) == (3, 2000, 1)

    # What it wrote reads back through the same door, with the same count, degree and bounds.
    again = web_ready(made.outputs["spz"], "spz", tmp_path / "from-spz", CLI, outputs=("ply",))
    assert (again.count, again.sh_degree) == (2000, 1)
    assert again.bounds["min"] == pytest.approx(made.bounds["min"], abs=0.01)
    back = web_ready(made.outputs["sog"], "sog", tmp_path / "from-sog", CLI, outputs=())
    assert (back.count, back.sh_degree) == (2000, 1)


def test_the_preview_shows_the_splat_in_its_colours(tmp_path):
    import numpy as np
    from PIL import Image

    src = models.splat_ply(tmp_path / "ball.ply", n=3000, sh_degree=1, scale=0.03)
    made = web_ready(src, "ply", tmp_path / "out", CLI, outputs=(), preview_edge=200)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["preview.jpg"]  # its flat PLY is gone
    assert Image.open(made.outputs["preview"]).format == "JPEG"
    picture = Image.open(made.outputs["preview"]).convert("RGB")
    assert picture.size == (200, 150)
    pixels = np.asarray(picture).astype(int)
    drawn = np.abs(pixels - [21, 24, 29]).sum(axis=2) > 40
    assert 0.2 < drawn.mean() < 0.8  # a ball in the middle, background around it
    rows, cols = np.nonzero(drawn)
    assert abs((cols.min() + cols.max()) / 2 - 100) < 8 and abs((rows.min() + rows.max()) / 2 - 75) < 8
    # Colour follows position (red grows with x): the right side of the ball is redder than the left.
    left = pixels[:, :90][drawn[:, :90]][:, 0].mean()
    right = pixels[:, 110:][drawn[:, 110:]][:, 0].mean()
    assert right > left + 20, (left, right)


def test_a_re_run_overwrites_the_same_outputs(tmp_path):
    src = models.splat_ply(tmp_path / "ball.ply", n=500, sh_degree=0)
    first = web_ready(src, "ply", tmp_path / "out", CLI, outputs=("spz",))
    data = first.outputs["spz"].read_bytes()
    second = web_ready(src, "ply", tmp_path / "out", CLI, outputs=("spz",))
    assert second.outputs["spz"] == first.outputs["spz"] and second.outputs["spz"].read_bytes() == data
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["splat.spz"]  # no input link left behind


def test_spz_version_4_is_classified_and_read(tmp_path):
    import subprocess

    from omnidrop.pipeline.classify import Kind, classify

    src = models.splat_ply(tmp_path / "ball.ply", n=300, sh_degree=2)
    v4 = tmp_path / "ball.spz"
    subprocess.run([*CLI, "-q", "-w", str(src), str(v4), "--spz-version", "4"], check=True, capture_output=True, timeout=120)
    assert v4.read_bytes()[:4] == b"NGSP"  # v4: a plain header, not gzip
    kind = classify(v4)
    assert (kind.kind, kind.details["format"]) == (Kind.SPLAT, "spz")
    made = web_ready(v4, "spz", tmp_path / "out", CLI, outputs=("spz",))
    assert (made.count, made.sh_degree) == (300, 2) and spz_header(made.outputs["spz"])[:2] == (3, 300)


def test_an_antimatter_splat_file(tmp_path):
    src = models.splat_file(tmp_path / "garden.splat", n=1500)
    made = web_ready(src, "splat", tmp_path / "out", CLI, outputs=("spz",))
    assert (made.count, made.sh_degree) == (1500, 0)
    assert made.bounds["max"][0] == pytest.approx(2.0, abs=0.05)  # positions were scaled by 2
    assert spz_header(made.outputs["spz"])[1] == 1500


@pytest.mark.parametrize("body, fmt", [
    (b"ply\nformat binary_little_endian 1.0\nelement vertex 1000\nproperty float x\nend_header\n" + b"\0" * 40, "ply"),
    (b"\x1f\x8b\x08\x00" + b"not gzip at all" * 4, "spz"),
    (b"PK\x03\x04 broken zip" * 3, "sog"),
])
def test_unreadable_splats_are_refused(tmp_path, body, fmt):
    src = tmp_path / f"bad.{fmt}"
    src.write_bytes(body)
    with pytest.raises(SplatError) as err:
        web_ready(src, fmt, tmp_path / "out", CLI)
    assert err.value.code in ("unreadable", "empty") and err.value.message


def test_summary_parsing():
    table = "**Row Count:** 3\n| Column | min | max |\n|---|---|---|\n| x | -1 | 2 |\n| y | 0 | 1 |\n| z | 5 | 6 |\n"
    got = parse_summary(table + "".join(f"| f_rest_{i} | 0 | 0 |\n" for i in range(24)))
    assert (got.count, got.sh_degree, got.bounds) == (3, 2, {"min": [-1.0, 0.0, 5.0], "max": [2.0, 1.0, 6.0]})
    with pytest.raises(SplatError):
        parse_summary("nothing useful")
