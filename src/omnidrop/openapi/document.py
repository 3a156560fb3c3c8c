"""omnidrop's OpenAPI document: FastAPI's, completed with what the surfaces' tables say.

`install(app, tus_path)` replaces `app.openapi`. The document gets, per operation: a readable
`operationId` (`<surface>_<handler>`), the surface's security requirement, the typed success answer,
every documented error status with that surface's error body, and the bodies and headers of routes
that read the raw request. The tus / IETF-draft endpoints are added as path items of their own.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from omnidrop.openapi import captures, companion_s3, direct_video, file_upload, resumable, security
from omnidrop.openapi import vehicles_360, walkthrough
from omnidrop.openapi.operation import Operation, Surface

REF = "#/components/schemas/{model}"
# operationId prefixes: what a generated client's functions are called by
SURFACES: dict[str, Surface] = {
    "uploads": file_upload.SURFACE,
    "vehicles": vehicles_360.SURFACE,
    "walkthrough": walkthrough.SURFACE,
    "captures": captures.SURFACE,
    "videos": direct_video.SURFACE,
    "companion": companion_s3.SURFACE,
}
DESCRIPTION = (
    "One server that speaks five upload APIs (File Upload, Vehicles 360 Video, 360 Walkthrough, Captures, "
    "Direct Video Upload), tus 1.0.0, the IETF resumable-upload draft and Companion-style S3 multipart. "
    "Each group below keeps its own credentials and error shape; the Authorize button lists them all."
)
TAG_DESCRIPTIONS = {
    file_upload.SURFACE.tag: "Upload sessions, whole or Content-Range PUTs, projects. Key: Bearer, scopes "
                             "projects:write / projects:read. Errors: `{\"error\": \"<code>\", …}`.",
    vehicles_360.SURFACE.tag: "Vehicle 360 videos, frames, damage masks, cleanup. Key: Bearer or X-API-Key, scopes "
                              "vehicles:write / vehicles:read. Errors: `{\"error\": {\"code\", \"message\"}}`.",
    walkthrough.SURFACE.tag: "Login, projects, drawings, upload objects, points. A login token or an API key. "
                             "Errors: `{\"error\": \"<code>\", \"message\": \"…\"}`.",
    resumable.TAG: "tus 1.0.0 and the IETF resumable-upload draft on the same URLs (steps 3-4 of the walkthrough "
                   "flow). Errors: text/plain (tus), application/problem+json (IETF).",
    captures.SURFACE.tag: "Captures for gaussian splatting, S3-style parts. Key: `luma-api-key=<key>` or Bearer, "
                          "scope captures. Errors: FastAPI's `{\"detail\": …}`.",
    direct_video.SURFACE.tag: "Upload groups of role-tagged files, presigned parts. Key: X-SPATIALGEN-APPKEY. "
                              "Errors: `{\"error\": {\"code\", \"message\"}}`.",
    companion_s3.SURFACE.tag: "Uppy's @uppy/aws-s3 (Companion protocol). Key: Bearer, scope projects:write. "
                              "Errors: `{\"error\": \"<message>\"}`.",
}


def install(app: FastAPI, tus_path: str) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build(app, tus_path)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def build(app: FastAPI, tus_path: str) -> dict[str, Any]:
    doc = get_openapi(title=app.title, version=app.version, openapi_version=app.openapi_version,
                      description=DESCRIPTION, routes=app.routes)
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    _add_models(schemas, _models())
    _unique_titles(schemas)
    for surface in SURFACES.values():
        if surface.adjust_schemas is not None:
            surface.adjust_schemas(schemas)
    for path, item in doc["paths"].items():
        for method, op in item.items():
            found = find(method.upper(), path)
            if found is None:
                continue
            prefix, surface, doc_op = found
            if (handler := _handler_name(op["operationId"], method, path)) is not None:
                op["operationId"] = f"{prefix}_{handler}"
            _complete(op, surface, doc_op)
    doc["paths"].update(resumable.path_items("/" + tus_path.strip("/") + "/"))
    doc["components"]["securitySchemes"] = security.SCHEMES
    doc["tags"] = [{"name": name, "description": text} for name, text in TAG_DESCRIPTIONS.items()]
    return doc


def find(method: str, path: str) -> tuple[str, Surface, Operation] | None:
    for prefix, surface in SURFACES.items():
        if (method, path) in surface.operations:
            return prefix, surface, surface.operations[method, path]
    return None


def _handler_name(operation_id: str, method: str, path: str) -> str | None:
    """The handler's name out of FastAPI's generated id (`<name><path>_<method>`, non-word characters as
    `_`); None for an id a route chose itself (`operation_id=`)."""
    suffix = re.sub(r"\W", "_", path) + "_" + method.lower()
    return operation_id[: -len(suffix)] if operation_id.endswith(suffix) and len(operation_id) > len(suffix) else None


def _models() -> list[type[BaseModel]]:
    found: list[type[BaseModel]] = []
    for surface in SURFACES.values():
        candidates = [surface.error_model, *surface.extra_models]
        candidates += [o.ok for o in surface.operations.values()]
        candidates += [m for o in surface.operations.values() for m in o.error_alternatives.values()]
        found += [m for m in candidates if isinstance(m, type) and issubclass(m, BaseModel) and m not in found]
    return found


def _add_models(schemas: dict[str, Any], models: list[type[BaseModel]]) -> None:
    _, top = models_json_schema([(m, "serialization") for m in models], ref_template=REF)
    for name, schema in top.get("$defs", {}).items():
        if name in schemas and schemas[name] != schema:
            raise ValueError(f"two different schemas named {name}: rename one of the models")
        schemas[name] = schema


def _unique_titles(schemas: dict[str, Any]) -> None:
    """FastAPI keys same-named request models by module (`omnidrop__surfaces__direct_video__PartIn`) but
    leaves both titled `PartIn`, and client generators name classes by title: `DirectVideoPartIn`."""
    for key, schema in schemas.items():
        if "__" in key:
            *modules, name = key.split("__")
            schema["title"] = "".join(w.capitalize() for w in modules[-1].split("_")) + name


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": REF.format(model=model.__name__)}


def _complete(op: dict[str, Any], surface: Surface, doc: Operation) -> None:
    op["security"] = surface.security if doc.security is None else doc.security
    responses: dict[str, Any] = op["responses"]
    ok = next(status for status in responses if status.startswith("2"))
    if doc.ok_status is not None and str(doc.ok_status) != ok:
        responses[str(doc.ok_status)] = responses.pop(ok)
        ok = str(doc.ok_status)
    if doc.ok is not None:
        responses[ok]["content"] = {"application/json": {"schema": _ref(doc.ok)}}
    elif doc.ok_media is not None:
        responses[ok]["content"] = {media: {"schema": schema} for media, schema in doc.ok_media.items()}
    if doc.ok_headers:
        responses[ok]["headers"] = {name: {"description": text, "schema": {"type": "string"}}
                                    for name, text in doc.ok_headers.items()}
    for status, text in doc.extra_ok.items():
        responses[str(status)] = {"description": text, **({"content": responses[ok]["content"]}
                                                          if "content" in responses[ok] else {})}
    # FastAPI documents a 422 for every route with parameters; only surfaces that answer one keep it.
    responses.pop("422", None)
    for status, codes in sorted(doc.errors.items()):
        content = _error_content(surface)
        if (other := doc.error_alternatives.get(status)) is not None:
            content = {"application/json": {"schema": {"anyOf": [content["application/json"]["schema"], _ref(other)]}}}
        if surface.error_example is not None and "application/json" in content:
            code = re.split(r"[ ,(:]", codes, maxsplit=1)[0]
            content["application/json"]["example"] = surface.error_example(status, code)
        responses[str(status)] = {"description": codes, "content": content}
    # The table's parameters are added, or replace FastAPI's of the same name (to say more about them).
    ours = {(p["name"].lower(), p["in"]) for p in doc.parameters}
    kept = [p for p in op.get("parameters", []) if (p["name"].lower(), p["in"]) not in ours]
    if doc.parameters:
        op["parameters"] = [*kept, *doc.parameters]
    if doc.body is not None:
        op["requestBody"] = {"required": doc.body.required, "description": doc.body.description,
                             "content": {media: {"schema": schema} for media, schema in doc.body.media.items()}}


def _error_content(surface: Surface) -> dict[str, Any]:
    if surface.error_model is not None:
        return {"application/json": {"schema": _ref(surface.error_model)}}  # a new dict per response
    return {media: {"schema": schema} for media, schema in (surface.error_media or {}).items()}
