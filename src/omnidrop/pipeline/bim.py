"""An IFC model made ready for the browser, with IfcOpenShell: what the BIM viewer loads.

`convert(src, out)` writes three files and returns the model's `details`:

- `model.glb`: the geometry, triangulated by IfcOpenShell's geometry iterator and written by its own
  glTF serializer: metres, Y up, one node per element named by the element's GlobalId (the viewer
  picks by it), meshes shared between elements that share a representation. Openings and spaces
  stay out of the geometry (they would hide the building), not out of the tree.
- `tree.json`: the spatial tree, Project › Site › Building › Storey › elements (and the parts an
  element aggregates), each node `{id: GlobalId, type, name, children}`; elements that no spatial
  structure holds come last under an `unplaced` node. Small: names and types only.
- `properties.json`: for each GlobalId, its attributes and its property and quantity sets (with
  those it inherits from its type). The viewer loads it once the model is on screen.

It runs in a child process (pipeline/child.py): IfcOpenShell holds the whole model in memory while
it works and gives none of it back. Outputs are written under fixed names, so a re-run overwrites.
"""

from __future__ import annotations

import json
import math
import os
import struct
from collections import Counter
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

MODEL, TREE, PROPERTIES = "model.glb", "tree.json", "properties.json"
TREE_VERSION = 1
HIDDEN = ("IfcOpeningElement", "IfcSpace")  # not drawn: voids and room volumes would hide the building


class IfcUnreadable(Exception):
    """The file is not an IFC model IfcOpenShell can read (corrupt, truncated, an unknown schema)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def convert(src: Path, out: Path, *, threads: int = 1, progress: Callable[[float], None] | None = None) -> dict:
    """Writes MODEL, TREE and PROPERTIES into `out`; returns the details to record. Raises IfcUnreadable."""
    import ifcopenshell

    report = progress or (lambda f: None)
    out.mkdir(parents=True, exist_ok=True)
    if not _complete(src):
        raise IfcUnreadable("the file is truncated: it does not end with END-ISO-10303-21;")
    try:
        model = ifcopenshell.open(str(src))
    except Exception as exc:  # IfcOpenShell raises plain errors (RuntimeError, SchemaError, OSError …)
        raise IfcUnreadable(f"IfcOpenShell could not read the file: {_reason(exc)}") from None
    projects = model.by_type("IfcProject")
    if not projects:
        raise IfcUnreadable("the file holds no IfcProject: not an IFC model")
    report(0.05)
    tree, placed = _tree(model, projects[0])
    report(0.1)
    drawn = _geometry(model, out / MODEL, threads, lambda f: report(0.1 + 0.75 * f))
    _write_json(out / TREE, {"version": TREE_VERSION, "schema": model.schema, "root": tree,
                             "unplaced": _unplaced(model, placed)})
    _write_json(out / PROPERTIES, _properties(model))
    report(1.0)
    return _details(model, projects[0], drawn)


# --- geometry ---------------------------------------------------------------------------------

def _geometry(model, dest: Path, threads: int, progress: Callable[[float], None]) -> int:
    """The GLB of every drawable element; returns how many elements it holds."""
    import ifcopenshell.geom

    settings = ifcopenshell.geom.settings()
    settings.set("use-element-guids", True)  # node name = GlobalId
    settings.set("y-up", True)  # glTF's convention
    tmp = dest.with_name(dest.name + ".part")
    hidden = [e for t in HIDDEN for e in model.by_type(t)]
    iterator = ifcopenshell.geom.iterator(settings, model, max(1, threads), exclude=hidden or None)
    serializer = ifcopenshell.geom.serializers.glb(str(tmp), settings)
    serializer.setFile(model)
    serializer.writeHeader()
    drawn = 0
    if iterator.initialize():
        while True:
            serializer.write(iterator.get())
            drawn += 1
            if drawn % 64 == 0:
                progress(iterator.progress() / 100)
            if not iterator.next():
                break
    serializer.finalize()
    del serializer  # the file is complete once the serializer is gone
    if drawn == 0:  # the serializer's empty file is not valid glTF (null bufferViews): write an empty scene
        tmp.write_bytes(_empty_glb())
    os.replace(tmp, dest)
    progress(1.0)
    return drawn


def _empty_glb() -> bytes:
    doc = json.dumps({"asset": {"version": "2.0", "generator": "omnidrop"}, "scene": 0, "scenes": [{"nodes": []}]}).encode()
    doc += b" " * (-len(doc) % 4)  # chunks are 4-byte aligned, JSON padded with spaces
    return struct.pack("<4sII", b"glTF", 2, 12 + 8 + len(doc)) + struct.pack("<I4s", len(doc), b"JSON") + doc


# --- the spatial tree ---------------------------------------------------------------------------

def _children(entity) -> list:
    kids = [o for rel in getattr(entity, "IsDecomposedBy", ()) or () for o in rel.RelatedObjects]
    kids += [e for rel in getattr(entity, "ContainsElements", ()) or () for e in rel.RelatedElements]
    return kids


def _order(entity) -> tuple:
    elevation = getattr(entity, "Elevation", None) if entity.is_a("IfcBuildingStorey") else None
    return (elevation if isinstance(elevation, (int, float)) else math.inf, entity.is_a(), entity.Name or "", entity.GlobalId)


def _node(entity, children: list) -> dict:
    node = {"id": entity.GlobalId, "type": entity.is_a(), "name": entity.Name or ""}
    if children:
        node["children"] = children
    return node


def _tree(model, project) -> tuple[dict, set[int]]:
    """The decomposition from the project down, without recursion (a deep or hostile model cannot hit
    the recursion limit); an entity reached twice is listed once, so a cycle cannot loop."""
    placed: set[int] = {project.id()}
    kids_of: dict[int, list] = {}
    stack = [project]
    while stack:
        entity = stack.pop()
        kids = sorted((k for k in _children(entity) if k.id() not in placed), key=_order)
        placed.update(k.id() for k in kids)
        kids_of[entity.id()] = kids
        stack.extend(kids)
    nodes: dict[int, dict] = {}
    todo = [(project, False)]
    while todo:  # children before their parent
        entity, ready = todo.pop()
        if ready:
            nodes[entity.id()] = _node(entity, [nodes[k.id()] for k in kids_of[entity.id()]])
        else:
            todo.append((entity, True))
            todo.extend((k, False) for k in kids_of[entity.id()])
    return nodes[project.id()], placed


def _unplaced(model, placed: set[int]) -> list[dict]:
    """Elements no spatial structure holds (still drawn, so still listed)."""
    rest = [e for e in model.by_type("IfcElement") if e.id() not in placed and not e.is_a("IfcOpeningElement")
            and not getattr(e, "Decomposes", None)]
    return [_node(e, []) for e in sorted(rest, key=_order)]


# --- properties ---------------------------------------------------------------------------------

_ATTRIBUTES = ("Name", "Description", "ObjectType", "LongName", "Tag", "PredefinedType", "Elevation")


def _properties(model) -> dict[str, dict]:
    import ifcopenshell.util.element as element

    out: dict[str, dict] = {}
    for entity in [*model.by_type("IfcProject"), *model.by_type("IfcObject")]:
        if entity.is_a("IfcOpeningElement"):
            continue
        info = entity.get_info(include_identifier=False, recursive=False)
        attributes = {k: _plain(info[k]) for k in _ATTRIBUTES if info.get(k) not in (None, "")}
        psets = {name: {k: _plain(v) for k, v in props.items() if k != "id"}
                 for name, props in element.get_psets(entity).items()}
        kind = element.get_type(entity)
        entry = {"type": entity.is_a(), "attributes": attributes, "psets": psets}
        if kind is not None:
            entry["object_type"] = {"type": kind.is_a(), "name": kind.Name or ""}
        if (material := element.get_material(entity)) is not None:
            entry["material"] = _material_name(material)
        out[entity.GlobalId] = entry
    return out


def _material_name(material) -> str:
    if getattr(material, "Name", None):
        return material.Name
    for attr in ("ForLayerSet", "ForProfileSet"):
        if (owner := getattr(material, attr, None)) is not None and getattr(owner, "LayerSetName", None):
            return owner.LayerSetName
    return material.is_a()


def _plain(value: Any) -> Any:
    """A JSON value: entities become their `#id=Type` text, tuples lists, dates ISO text."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if hasattr(value, "is_a"):
        wrapped = getattr(value, "wrappedValue", None)
        return _plain(wrapped) if wrapped is not None else f"#{value.id()}={value.is_a()}"
    return str(value)


# --- details ------------------------------------------------------------------------------------

def _details(model, project, drawn: int) -> dict:
    import ifcopenshell.util.unit as unit

    counts = Counter(e.is_a() for e in model.by_type("IfcElement") if not e.is_a("IfcOpeningElement"))
    storeys = sorted(model.by_type("IfcBuildingStorey"), key=_order)
    units = {}
    for name, kind in (("length", "LENGTHUNIT"), ("area", "AREAUNIT"), ("volume", "VOLUMEUNIT"), ("angle", "PLANEANGLEUNIT")):
        try:
            found = unit.get_project_unit(model, kind)
        except Exception:  # a malformed unit assignment is left out, not fatal
            found = None
        if found is not None:
            units[name] = _unit_name(found)
    return {
        "format": "ifc",
        "schema": model.schema,
        "project": project.Name or project.LongName or "",
        "units": units,
        "element_count": sum(counts.values()),
        "elements": dict(sorted(counts.items())),
        "storeys": [{"name": s.Name or "", "elevation": _plain(s.Elevation)} for s in storeys],
        "drawn": drawn,
    }


def _unit_name(u) -> str:
    if u.is_a("IfcSIUnit"):
        return ((u.Prefix or "") + u.Name).upper()
    return str(getattr(u, "Name", None) or u.is_a())


# --- helpers ------------------------------------------------------------------------------------

def _write_json(dest: Path, data: Any) -> None:
    tmp = dest.with_name(dest.name + ".part")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False, separators=(",", ":"))
    os.replace(tmp, dest)


def _complete(src: Path) -> bool:
    """A STEP file ends with END-ISO-10303-21; (IfcOpenShell reads a cut file's first half quietly)."""
    with open(src, "rb") as f:
        f.seek(max(0, f.seek(0, 2) - 4096))
        tail = f.read()
    return tail.rstrip(b" \t\r\n\x00\x1a").endswith(b"END-ISO-10303-21;")


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]
