"""Classification by content: samples are made here; extensions are only hints."""

from __future__ import annotations

import gzip
import shutil
import struct
from pathlib import Path

import pytest
from PIL import Image, PngImagePlugin

from omnidrop.pipeline.classify import Kind, classify
from tests.pipeline.samples import (
    inject_spherical,
    remux,
    tar_member,
    write_libarchive,
    write_tar,
    write_video,
    write_zip,
)

GPANO_XMP = (
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    '<rdf:Description xmlns:GPano="http://ns.google.com/photos/1.0/panorama/"'
    ' GPano:UsePanoramaViewer="True" GPano:ProjectionType="{projection}"/></rdf:RDF></x:xmpmeta>'
)


def _image(path: Path, size=(64, 48), fmt: str | None = None, **save) -> Path:
    Image.new("RGB", size, "orange").save(path, fmt, **save)
    return path


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


# --- images ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, mime",
    [
        ("a.jpg", "image/jpeg"),
        ("a.png", "image/png"),
        ("a.tiff", "image/tiff"),
        ("a.webp", "image/webp"),
    ],
)
def test_images(tmp_path, name, mime):
    result = classify(_image(tmp_path / name))
    assert (result.kind, result.mime) == (Kind.IMAGE, mime)
    assert result.details["width"] == 64 and result.details["height"] == 48
    assert result.details["equirectangular"] is False


def test_two_to_one_image_is_equirectangular(tmp_path):
    assert classify(_image(tmp_path / "pano.jpg", (512, 256))).details["equirectangular"] is True


def _with_xmp(path: Path, size, xmp: str) -> Path:
    """Each format carries XMP its own way: APP1, iTXt, a RIFF chunk, TIFF tag 700."""
    if path.suffix == ".png":
        info = PngImagePlugin.PngInfo()
        info.add_itxt("XML:com.adobe.xmp", xmp)
        return _image(path, size, pnginfo=info)
    if path.suffix == ".tif":
        return _image(path, size, tiffinfo={700: xmp.encode()})
    return _image(path, size, xmp=xmp.encode())


@pytest.mark.parametrize("suffix", [".jpg", ".png", ".webp", ".tif"])
def test_gpano_metadata_decides_over_aspect(tmp_path, suffix):
    cropped = _with_xmp(tmp_path / f"cropped{suffix}", (300, 200), GPANO_XMP.format(projection="equirectangular"))
    cylinder = _with_xmp(tmp_path / f"cyl{suffix}", (512, 256), GPANO_XMP.format(projection="cylindrical"))
    assert classify(cropped).details.items() >= {"equirectangular": True, "projection": "equirectangular"}.items()
    assert classify(cylinder).details.items() >= {"equirectangular": False, "projection": "cylindrical"}.items()


def test_exif_rotation_is_applied_to_reported_size(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    details = classify(_image(tmp_path / "portrait.jpg", (512, 256), exif=exif)).details
    assert (details["width"], details["height"], details["equirectangular"]) == (256, 512, False)


def test_image_content_wins_over_extension(tmp_path):
    png_named_jpg = _image(tmp_path / "x.jpg", fmt="PNG")
    assert classify(png_named_jpg).mime == "image/png"
    jpeg_named_ifc = _image(tmp_path / "model.ifc", fmt="JPEG")
    assert classify(jpeg_named_ifc).kind == Kind.IMAGE


def test_heic_is_recognised_by_its_brand(tmp_path):
    heic = _write(tmp_path / "IMG_0001.bin", struct.pack(">I", 24) + b"ftypheic" + b"\x00\x00\x00\x00mif1heic")
    result = classify(heic)
    assert (result.kind, result.mime) == (Kind.IMAGE, "image/heic")


# --- video ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def video(tmp_path_factory) -> Path:
    return write_video(tmp_path_factory.mktemp("video") / "plain.mp4")


def test_plain_video(video):
    result = classify(video)
    assert (result.kind, result.mime) == (Kind.VIDEO, "video/mp4")
    d = result.details
    assert (d["codec"], d["width"], d["height"]) == ("mpeg4", 64, 32)
    assert d["duration"] == pytest.approx(0.5, abs=0.11)
    assert "projection" not in d


def test_spherical_v2_boxes_make_a_360_video(tmp_path, video):
    result = classify(inject_spherical(Path(shutil.copy(video, tmp_path / "v2.mp4")), stereo_mode=1))
    assert result.kind == Kind.VIDEO_360
    assert result.details["projection"] == "equirectangular"
    assert result.details["stereo"] == "top-bottom"


def test_spherical_v1_xml_makes_a_360_video(tmp_path, video):
    result = classify(inject_spherical(Path(shutil.copy(video, tmp_path / "v1.mp4")), v1=True))
    assert (result.kind, result.details["projection"]) == (Kind.VIDEO_360, "equirectangular")


def test_matroska_projection_makes_a_360_video(tmp_path, video):
    mp4 = inject_spherical(Path(shutil.copy(video, tmp_path / "v2.mp4")))
    result = classify(remux(mp4, tmp_path / "v2.mkv"))
    assert (result.kind, result.mime) == (Kind.VIDEO_360, "video/x-matroska")


def test_insv_by_name_or_by_trailer(tmp_path, video):
    by_name = classify(video, name="VID_20240101_000000_00_001.insv")
    assert (by_name.kind, by_name.details["insta360"]) == (Kind.VIDEO_360, True)
    with_trailer = Path(shutil.copy(video, tmp_path / "renamed.mp4"))
    with open(with_trailer, "ab") as f:
        f.write(bytes(40) + b"8db42d694ccc418790edff439fe026bf")
    assert classify(with_trailer).kind == Kind.VIDEO_360


def test_jpeg_renamed_mp4_is_not_video(tmp_path):
    result = classify(_image(tmp_path / "clip.mp4", fmt="JPEG"))
    assert (result.kind, result.mime) == (Kind.IMAGE, "image/jpeg")


def test_text_renamed_mp4_is_other(tmp_path):
    result = classify(_write(tmp_path / "clip.mp4", b"#EXTM3U\n#EXT-X-VERSION:3\nhttp://127.0.0.1/x.ts\n"))
    assert (result.kind, result.mime) == (Kind.OTHER, "text/plain")


# --- point clouds, splats, CAD/BIM -------------------------------------------------------------


def _ply(props: list[str], vertices=2, faces=0, encoding="binary_little_endian") -> bytes:
    header = ["ply", f"format {encoding} 1.0", f"element vertex {vertices}"]
    header += [f"property float {p}" for p in props]
    if faces:
        header += [f"element face {faces}", "property list uchar int vertex_indices"]
    return ("\n".join(header + ["end_header"]) + "\n").encode() + bytes(4 * len(props) * vertices)


SPLAT_PROPS = [
    "x",
    "y",
    "z",
    "nx",
    "ny",
    "nz",
    "f_dc_0",
    "f_dc_1",
    "f_dc_2",
    *[f"f_rest_{i}" for i in range(45)],
    "opacity",
    "scale_0",
    "scale_1",
    "scale_2",
    "rot_0",
    "rot_1",
    "rot_2",
    "rot_3",
]


def _las(point_format: int, points: int) -> bytes:
    header = bytearray(227)
    header[0:4] = b"LASF"
    header[24:26] = bytes([1, 2])
    header[104] = point_format
    struct.pack_into("<I", header, 107, points)
    return bytes(header)


def _ole() -> bytes:
    return b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)


IFC = b"""ISO-10303-21;
HEADER;
FILE_DESCRIPTION(('ViewDefinition [CoordinationView]'),'2;1');
FILE_NAME('house.ifc','2024-01-01T00:00:00',(''),(''),'','','');
FILE_SCHEMA(('IFC4'));
ENDSEC;
DATA;
#1=IFCPROJECT('0YvctVUKr0kugbFTf53O9L',$,'House',$,$,$,$,$,$);
ENDSEC;
END-ISO-10303-21;
"""

SAMPLES = [
    # name, content, kind, mime, expected details (subset)
    (
        "cloud.ply",
        _ply(["x", "y", "z", "red", "green", "blue"], encoding="ascii"),
        Kind.POINT_CLOUD,
        "application/x-ply",
        {"vertices": 2, "encoding": "ascii"},
    ),
    ("scene.ply", _ply(SPLAT_PROPS), Kind.SPLAT, "application/x-ply", {"sh_degree": 3}),
    (
        "scene_sh0.bin",
        _ply(["x", "y", "z", "f_dc_0", "f_dc_1", "f_dc_2", "opacity", "scale_0", "rot_0"]),
        Kind.SPLAT,
        "application/x-ply",
        {"sh_degree": 0},
    ),
    ("mesh.ply", _ply(["x", "y", "z"], vertices=3, faces=1), Kind.CAD_BIM, "application/x-ply", {"faces": 1}),
    (
        "scan.e57",
        b"ASTM-E57" + struct.pack("<II", 1, 0) + bytes(32),
        Kind.POINT_CLOUD,
        "application/x-e57",
        {"version": "1.0"},
    ),
    (
        "scan.las",
        _las(3, 42),
        Kind.POINT_CLOUD,
        "application/vnd.las",
        {"version": "1.2", "points": 42, "point_format": 3},
    ),
    ("scan.laz", _las(0x80 | 3, 42), Kind.POINT_CLOUD, "application/vnd.laszip", {"compressed": True}),
    (
        "scan.pcd",
        b"# .PCD v0.7\nVERSION 0.7\nFIELDS x y z\nSIZE 4 4 4\nTYPE F F F\nCOUNT 1 1 1\n"
        b"WIDTH 2\nHEIGHT 1\nPOINTS 2\nDATA ascii\n0 0 0\n1 1 1\n",
        Kind.POINT_CLOUD,
        "application/x-pcd",
        {"points": 2, "fields": ["x", "y", "z"], "encoding": "ascii"},
    ),
    (
        "scan.pts",
        b"3\n1.0 2.0 3.0 -1200 255 0 0\n4 5 6 7 255 0 0\n7.5 8e2 -9 1 0 0 255\n",
        Kind.POINT_CLOUD,
        "text/plain",
        {"columns": 7},
    ),
    ("scan.xyz", b"1,2,3\n4,5,6\n", Kind.POINT_CLOUD, "text/plain", {"columns": 3}),
    ("notes.xyz", b"these are words\nnot numbers\n", Kind.OTHER, "text/plain", {}),
    ("gauss.splat", bytes(64), Kind.SPLAT, "application/octet-stream", {"splats": 2}),
    ("broken.splat", bytes(33), Kind.OTHER, "application/octet-stream", {}),
    ("gauss.ksplat", bytes(5000), Kind.SPLAT, "application/octet-stream", {}),
    (
        "gauss.spz",
        gzip.compress(struct.pack("<III", 0x5053474E, 2, 10) + bytes(64)),
        Kind.SPLAT,
        "application/x-spz",
        {},
    ),
    ("house.ifc", IFC, Kind.CAD_BIM, "application/x-step", {"format": "ifc", "schema": "IFC4"}),
    ("house.jpg", IFC, Kind.CAD_BIM, "application/x-step", {"format": "ifc"}),
    ("part.step", IFC.replace(b"IFC4", b"AUTOMOTIVE_DESIGN"), Kind.CAD_BIM, "model/step", {"format": "step"}),
    ("plan.dwg", b"AC1032" + bytes(128), Kind.CAD_BIM, "image/vnd.dwg", {"version": "AC1032"}),
    ("plan.dxf", b"  0\nSECTION\n  2\nHEADER\n  0\nENDSEC\n  0\nEOF\n", Kind.CAD_BIM, "image/vnd.dxf", {}),
    ("house.rvt", _ole(), Kind.CAD_BIM, "application/x-revit", {"format": "rvt"}),
    ("letter.doc", _ole(), Kind.OTHER, "application/octet-stream", {}),
    ("model.glb", b"glTF" + struct.pack("<II", 2, 12), Kind.CAD_BIM, "model/gltf-binary", {"version": 2}),
    ("model.gltf", b'{"asset": {"version": "2.0"}}', Kind.CAD_BIM, "model/gltf+json", {}),
    ("model.fbx", b"Kaydara FBX Binary  \x00\x1a\x00" + bytes(16), Kind.CAD_BIM, "application/x-fbx", {}),
    (
        "model.obj",
        b"# cube\nmtllib cube.mtl\no Cube\nv 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n",
        Kind.CAD_BIM,
        "model/obj",
        {},
    ),
    ("readme.obj", b"Just a text file.\n", Kind.OTHER, "text/plain", {}),
    ("random.bin", bytes(range(256)) * 4, Kind.OTHER, "application/octet-stream", {}),
]


@pytest.mark.parametrize("name, content, kind, mime, details", SAMPLES, ids=[s[0] for s in SAMPLES])
def test_signatures_and_hints(tmp_path, name, content, kind, mime, details):
    result = classify(_write(tmp_path / name, content))
    assert (result.kind, result.mime) == (kind, mime)
    assert {k: result.details.get(k) for k in details} == details


def test_extension_hint_comes_from_the_original_name(tmp_path):
    stored = _write(tmp_path / "blob-7f3a", bytes(64))
    assert classify(stored).kind == Kind.OTHER
    assert classify(stored, name="capture.splat").kind == Kind.SPLAT


# --- archives ----------------------------------------------------------------------------------


def test_archives(tmp_path):
    zipped = write_zip(tmp_path / "photos.jpg", {"a.jpg": b"x"})
    seven = write_libarchive(tmp_path / "a.7z", "7zip", [("a.txt", b"x")])
    tgz = write_tar(tmp_path / "a.tgz", [(tar_member("a.txt"), b"x")], mode="w:gz")
    assert (classify(zipped).kind, classify(zipped).mime) == (Kind.ARCHIVE, "application/zip")
    assert classify(seven).mime == "application/x-7z-compressed"
    assert (classify(tgz).kind, classify(tgz).mime) == (Kind.ARCHIVE, "application/gzip")
    plain_gz = _write(tmp_path / "notes.gz", gzip.compress(b"hello\n"))
    assert classify(plain_gz).kind == Kind.OTHER


def test_sog_bundle_is_a_splat_not_an_archive(tmp_path):
    sog = write_zip(tmp_path / "scene.zip", {"meta.json": b"{}", "means_l.webp": b"", "means_u.webp": b""})
    assert (classify(sog).kind, classify(sog).details) == (Kind.SPLAT, {"format": "sog"})


def test_zip_based_documents_are_not_archives(tmp_path):
    usdz = classify(write_zip(tmp_path / "chair.usdz", {"chair.usdc": b"PXR-USDC"}))
    assert (usdz.kind, usdz.mime) == (Kind.CAD_BIM, "model/vnd.usdz+zip")
    docx = classify(write_zip(tmp_path / "report.docx", {"[Content_Types].xml": b"<Types/>"}))
    assert (docx.kind, docx.details) == (Kind.OTHER, {"format": "docx"})
