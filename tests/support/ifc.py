"""IFC models made with ifcopenshell.api, for the BIM tests and bench/bim: a project with a site, a
building and storeys holding walls, slabs, doors and columns, each with a property set."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _api():
    import ifcopenshell.api.aggregate
    import ifcopenshell.api.context
    import ifcopenshell.api.geometry
    import ifcopenshell.api.owner
    import ifcopenshell.api.owner.settings
    import ifcopenshell.api.project
    import ifcopenshell.api.pset
    import ifcopenshell.api.root
    import ifcopenshell.api.spatial
    import ifcopenshell.api.unit

    return ifcopenshell.api


def _at(x: float, y: float, z: float, turn: bool = False) -> np.ndarray:
    m = np.eye(4)
    if turn:  # 90° about Z
        m[:3, :3] = [[0, -1, 0], [1, 0, 0], [0, 0, 1]]
    m[:3, 3] = (x, y, z)
    return m


class Builder:
    def __init__(self, project: str = "Harbour Office", schema: str = "IFC4") -> None:
        api = self.api = _api()
        f = self.file = api.project.create_file(version=schema)
        if schema == "IFC2X3":  # every rooted entity needs an owner history there
            person = api.owner.add_person(f)
            org = api.owner.add_organisation(f)
            user = api.owner.add_person_and_organisation(f, person=person, organisation=org)
            app = api.owner.add_application(f)
            api.owner.settings.get_user = lambda _f: user
            api.owner.settings.get_application = lambda _f: app
        self.project = api.root.create_entity(f, ifc_class="IfcProject", name=project)
        api.unit.assign_unit(f)  # millimetres, square and cubic metres
        model = api.context.add_context(f, context_type="Model")
        self.body = api.context.add_context(f, context_type="Model", context_identifier="Body",
                                            target_view="MODEL_VIEW", parent=model)
        self.site = api.root.create_entity(f, ifc_class="IfcSite", name="Quay")
        self.building = api.root.create_entity(f, ifc_class="IfcBuilding", name="Block A")
        api.aggregate.assign_object(f, relating_object=self.project, products=[self.site])
        api.aggregate.assign_object(f, relating_object=self.site, products=[self.building])

    def storey(self, name: str, elevation: float):
        s = self.api.root.create_entity(self.file, ifc_class="IfcBuildingStorey", name=name)
        s.Elevation = elevation * 1000  # project units: millimetres
        self.api.aggregate.assign_object(self.file, relating_object=self.building, products=[s])
        return s

    def element(self, storey, ifc_class: str, name: str, representation, where: np.ndarray, pset: str, props: dict):
        api, f = self.api, self.file
        e = api.root.create_entity(f, ifc_class=ifc_class, name=name)
        api.geometry.edit_object_placement(f, product=e, matrix=where, is_si=True)
        api.geometry.assign_representation(f, product=e, representation=representation)
        api.spatial.assign_container(f, relating_structure=storey, products=[e])
        api.pset.edit_pset(f, pset=api.pset.add_pset(f, product=e, name=pset), properties=props)
        return e

    def wall(self, storey, name: str, where: np.ndarray, length: float = 5.0, height: float = 3.0, **props):
        rep = self.api.geometry.add_wall_representation(self.file, context=self.body, length=length, height=height,
                                                        thickness=0.2)
        return self.element(storey, "IfcWall", name, rep, where, "Pset_WallCommon",
                            {"IsExternal": True, "FireRating": "REI60", **props})

    def slab(self, storey, name: str, where: np.ndarray, size: float = 5.0):
        rep = self.api.geometry.add_slab_representation(
            self.file, context=self.body, depth=0.25,
            polyline=[(0.0, 0.0), (size, 0.0), (size, size), (0.0, size)])
        return self.element(storey, "IfcSlab", name, rep, where, "Pset_SlabCommon", {"LoadBearing": True})

    def door(self, storey, name: str, where: np.ndarray):
        # A door leaf as a thin box: the test needs a door element with geometry, not joinery detail.
        rep = self.api.geometry.add_wall_representation(self.file, context=self.body, length=0.9, height=2.1,
                                                        thickness=0.05)
        return self.element(storey, "IfcDoor", name, rep, where, "Pset_DoorCommon",
                            {"FireExit": False, "Reference": "D-01"})

    def column(self, storey, name: str, where: np.ndarray, height: float = 3.0):
        rep = self.api.geometry.add_wall_representation(self.file, context=self.body, length=0.3, height=height,
                                                        thickness=0.3)
        return self.element(storey, "IfcColumn", name, rep, where, "Pset_ColumnCommon", {"LoadBearing": True})

    def write(self, path: Path) -> Path:
        self.file.write(str(path))
        return path


def small_model(path: Path) -> Path:
    """One storey: a wall (with Pset_WallCommon), a slab and a door."""
    b = Builder()
    level = b.storey("Ground floor", 0.0)
    b.wall(level, "North wall", _at(0, 0, 0))
    b.slab(level, "Ground slab", _at(0, 0, -0.25))
    b.door(level, "Front door", _at(2, -0.1, 0))
    return b.write(path)


def building(path: Path, storeys: int, bays: int) -> Path:
    """`storeys` floors of a `bays` × `bays` grid: each bay has two walls, a column and a slab, and every
    fourth bay a door, so a floor holds about 4.25 × bays² elements."""
    b = Builder(project="Bench tower")
    for level in range(storeys):
        z = level * 3.0
        s = b.storey(f"Level {level}", z)
        for i in range(bays):
            for j in range(bays):
                x, y = i * 5.0, j * 5.0
                tag = f"L{level}-{i}-{j}"
                b.wall(s, f"Wall {tag} S", _at(x, y, z), Reference=tag)
                b.wall(s, f"Wall {tag} W", _at(x, y, z, turn=True), Reference=tag)
                b.column(s, f"Column {tag}", _at(x, y, z))
                b.slab(s, f"Slab {tag}", _at(x, y, z - 0.25))
                if (i + j) % 4 == 0:
                    b.door(s, f"Door {tag}", _at(x + 2, y - 0.1, z))
    return b.write(path)
