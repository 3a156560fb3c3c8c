"""IFC → GLB + spatial tree + properties with IfcOpenShell, on models made here with ifcopenshell.api."""

import json

import pytest
import trimesh

from omnidrop.pipeline.bim import MODEL, PROPERTIES, TREE, IfcUnreadable, convert
from tests.support import ifc


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    return ifc.small_model(tmp_path_factory.mktemp("ifc") / "office.ifc")


def _walk(node, depth=0):
    yield node, depth
    for child in node.get("children", ()):
        yield from _walk(child, depth + 1)


def test_geometry_tree_properties_and_details(small, tmp_path):
    details = convert(small, tmp_path)

    assert details["format"] == "ifc" and details["schema"] == "IFC4"
    assert details["project"] == "Harbour Office"
    assert details["units"]["length"] == "MILLIMETRE"
    assert details["elements"] == {"IfcDoor": 1, "IfcSlab": 1, "IfcWall": 1} and details["element_count"] == 3
    assert details["storeys"] == [{"name": "Ground floor", "elevation": 0.0}]
    assert details["drawn"] == 3

    tree = json.loads((tmp_path / TREE).read_text())
    assert tree["schema"] == "IFC4" and tree["unplaced"] == []
    nodes = list(_walk(tree["root"]))
    path = [(n["type"], d) for n, d in nodes if n["type"] in ("IfcProject", "IfcSite", "IfcBuilding", "IfcBuildingStorey")]
    assert path == [("IfcProject", 0), ("IfcSite", 1), ("IfcBuilding", 2), ("IfcBuildingStorey", 3)]
    (storey,) = [n for n, _ in nodes if n["type"] == "IfcBuildingStorey"]
    assert [(c["type"], c["name"]) for c in storey["children"]] == [
        ("IfcDoor", "Front door"), ("IfcSlab", "Ground slab"), ("IfcWall", "North wall")]
    ids = {c["name"]: c["id"] for c in storey["children"]}

    props = json.loads((tmp_path / PROPERTIES).read_text())
    wall = props[ids["North wall"]]
    assert wall["type"] == "IfcWall" and wall["attributes"]["Name"] == "North wall"
    assert wall["psets"]["Pset_WallCommon"] == {"IsExternal": True, "FireRating": "REI60"}
    assert props[ids["Front door"]]["psets"]["Pset_DoorCommon"]["Reference"] == "D-01"
    assert props[tree["root"]["id"]]["attributes"]["Name"] == "Harbour Office"

    # The GLB reads back: one node per element, named by its GlobalId, with real triangles.
    scene = trimesh.load(tmp_path / MODEL, file_type="glb", force="scene")
    named = {n for n in scene.graph.nodes_geometry}
    assert named == set(ids.values())
    assert sum(len(g.faces) for g in scene.geometry.values()) >= 3 * 12  # three boxes at least
    lo, hi = scene.bounds
    assert 4.9 < (hi - lo).max() < 5.5  # metres: the 5 m wall and slab, not millimetres


def test_a_rerun_overwrites_with_the_same_outputs(small, tmp_path):
    first = convert(small, tmp_path)
    before = {name: (tmp_path / name).read_bytes() for name in (TREE, PROPERTIES)}
    (tmp_path / MODEL).write_bytes(b"left by a dead attempt")
    assert convert(small, tmp_path) == first
    assert {name: (tmp_path / name).read_bytes() for name in (TREE, PROPERTIES)} == before
    assert (tmp_path / MODEL).read_bytes()[:4] == b"glTF"
    assert not list(tmp_path.glob("*.part"))


def test_elements_outside_the_spatial_tree_are_listed_as_unplaced(tmp_path):
    b = ifc.Builder()
    level = b.storey("Level 1", 3.0)
    b.wall(level, "Placed", ifc._at(0, 0, 0))
    loose = b.api.root.create_entity(b.file, ifc_class="IfcBeam", name="Loose beam")
    details = convert(b.write(tmp_path / "loose.ifc"), tmp_path / "out")
    tree = json.loads((tmp_path / "out" / TREE).read_text())
    assert tree["unplaced"] == [{"id": loose.GlobalId, "type": "IfcBeam", "name": "Loose beam"}]
    assert details["elements"] == {"IfcBeam": 1, "IfcWall": 1}
    assert details["storeys"] == [{"name": "Level 1", "elevation": 3000.0}]


def test_a_model_without_geometry_gives_an_empty_valid_glb(tmp_path):
    b = ifc.Builder()
    b.storey("Empty", 0.0)
    details = convert(b.write(tmp_path / "empty.ifc"), tmp_path / "out")
    assert (details["drawn"], details["element_count"], details["elements"]) == (0, 0, {})
    scene = trimesh.load(tmp_path / "out" / MODEL, file_type="glb", force="scene")
    assert len(scene.geometry) == 0
    tree = json.loads((tmp_path / "out" / TREE).read_text())
    assert [n["type"] for n, _ in _walk(tree["root"])] == ["IfcProject", "IfcSite", "IfcBuilding", "IfcBuildingStorey"]


def test_spaces_and_openings_are_in_the_tree_not_in_the_geometry(tmp_path):
    b = ifc.Builder()
    level = b.storey("Level 1", 0.0)
    wall = b.wall(level, "Wall", ifc._at(0, 0, 0))
    room = b.api.root.create_entity(b.file, ifc_class="IfcSpace", name="Room 1")
    b.api.aggregate.assign_object(b.file, relating_object=level, products=[room])
    rep = b.api.geometry.add_wall_representation(b.file, context=b.body, length=4, height=2.5, thickness=4)
    b.api.geometry.edit_object_placement(b.file, product=room, matrix=ifc._at(0, 0.2, 0), is_si=True)
    b.api.geometry.assign_representation(b.file, product=room, representation=rep)
    details = convert(b.write(tmp_path / "room.ifc"), tmp_path / "out")
    tree = json.loads((tmp_path / "out" / TREE).read_text())
    listed = {n["type"]: n["id"] for n, _ in _walk(tree["root"])}
    assert listed["IfcSpace"] == room.GlobalId and listed["IfcWall"] == wall.GlobalId
    scene = trimesh.load(tmp_path / "out" / MODEL, file_type="glb", force="scene")
    assert set(scene.graph.nodes_geometry) == {wall.GlobalId}
    assert details["drawn"] == 1 and details["elements"] == {"IfcWall": 1}


def test_ifc2x3_models_convert_too(tmp_path):
    b = ifc.Builder(schema="IFC2X3")
    b.wall(b.storey("EG", 0.0), "Wand", ifc._at(0, 0, 0))
    details = convert(b.write(tmp_path / "old.ifc"), tmp_path / "out")
    assert details["schema"] == "IFC2X3" and details["elements"] == {"IfcWall": 1}
    assert details["drawn"] == 1


@pytest.mark.parametrize("damage", ["truncated", "garbage", "no_project"])
def test_an_unreadable_model_is_refused_with_a_reason(small, tmp_path, damage):
    text = small.read_bytes()
    bad = tmp_path / "bad.ifc"
    if damage == "truncated":
        bad.write_bytes(text[: len(text) // 2])
    elif damage == "garbage":
        bad.write_bytes(text[:200] + b"\x00\xff not step at all (((;;" * 50)
    else:  # a valid STEP file with the IFC schema and no project in it
        head = text[: text.index(b"DATA;")]
        bad.write_bytes(head + b"DATA;\n#1=IFCCARTESIANPOINT((0.,0.,0.));\nENDSEC;\nEND-ISO-10303-21;\n")
    with pytest.raises(IfcUnreadable) as got:
        convert(bad, tmp_path / "out")
    assert got.value.message
    assert not (tmp_path / "out" / MODEL).exists()
