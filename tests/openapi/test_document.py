"""The OpenAPI document itself: valid, complete for every surface, typed, with auth and errors."""

from __future__ import annotations

import pytest
from openapi_spec_validator import validate

from omnidrop.app import create_app
from omnidrop.openapi.document import SURFACES
from omnidrop.settings import Settings

METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}


@pytest.fixture(scope="module")
def doc() -> dict:
    return create_app(Settings()).openapi()


def operations(doc: dict):
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method in METHODS:
                yield method.upper(), path, op


def test_is_valid_openapi_3_1(doc):
    validate(doc)
    assert doc["openapi"].startswith("3.1")


def test_every_table_entry_names_a_served_operation(doc):
    served = {(m, p) for m, p, _ in operations(doc)}
    stale = [key for s in SURFACES.values() for key in s.operations if key not in served]
    assert stale == []


def test_every_operation_is_described_by_a_surface_table_or_the_resumable_items(doc):
    undescribed = [f"{m} {p}" for m, p, op in operations(doc)
                   if not any((m, p) in s.operations for s in SURFACES.values())
                   and not op["operationId"].startswith("resumable_")]
    assert undescribed == []


def test_every_success_answer_is_typed(doc):
    untyped = []
    for method, path, op in operations(doc):
        for status, response in op["responses"].items():
            if not status.startswith("2") or status == "204" or method in ("HEAD", "OPTIONS"):
                continue
            if "content" not in response and response.get("headers"):
                continue  # a header-only answer (tus creation: Location, Upload-Offset)
            schemas = [m.get("schema", {}) for m in response.get("content", {}).values()]
            typed = schemas and all("$ref" in s or s.get("format") == "binary" or "$ref" in s.get("items", {})
                                    for s in schemas)
            if not typed:
                untyped.append(f"{method} {path} {status}")
    assert untyped == []


def test_errors_are_documented_in_each_surfaces_shape(doc):
    for method, path, op in operations(doc):
        if method == "OPTIONS":
            continue
        errors = {s: r for s, r in op["responses"].items() if s[0] in "45"}
        assert set(errors) - {"422"}, f"{method} {path} documents no error besides 422"
        if op["security"]:
            assert "401" in errors, f"{method} {path} takes credentials but documents no 401"
    error_refs = {s.tag: s.error_model.__name__ for s in SURFACES.values()}
    for method, path, op in operations(doc):
        tag = op["tags"][0]
        if tag not in error_refs:
            continue
        for status, response in op["responses"].items():
            if status[0] in "45":
                schema = response["content"]["application/json"]["schema"]
                refs = [schema.get("$ref")] + [alt["$ref"] for alt in schema.get("anyOf", [])]
                assert f"#/components/schemas/{error_refs[tag]}" in refs, (method, path, status)


def test_security_schemes_cover_every_surfaces_credentials(doc):
    schemes = doc["components"]["securitySchemes"]
    assert schemes["apiKey"]["scheme"] == "bearer"
    assert (schemes["xApiKey"]["in"], schemes["xApiKey"]["name"]) == ("header", "X-API-Key")
    assert (schemes["lumaApiKey"]["in"], schemes["lumaApiKey"]["name"]) == ("header", "Authorization")
    assert schemes["spatialgenAppKey"]["name"] == "X-SPATIALGEN-APPKEY"
    assert schemes["loginToken"]["bearerFormat"] == "login token"
    used = {name for _, _, op in operations(doc) for req in op["security"] for name in req}
    assert used == set(schemes)
    ops = {(m, p): op for m, p, op in operations(doc)}
    assert ops["POST", "/auth/login"]["security"] == []
    assert {"spatialgenAppKey": ["videos:upload"]} in ops["POST", "/api/videos/uploads"]["security"]
    assert {"xApiKey": ["vehicles:write"]} in ops["POST", "/360/upload"]["security"]


def test_resumable_endpoints_and_binary_bodies_are_documented(doc):
    ops = {(m, p): op for m, p, op in operations(doc)}
    assert {("POST", "/files/"), ("HEAD", "/files/{upload_id}"), ("PATCH", "/files/{upload_id}"),
            ("DELETE", "/files/{upload_id}"), ("OPTIONS", "/files/")} <= set(ops)
    patch = ops["PATCH", "/files/{upload_id}"]
    assert "application/offset+octet-stream" in patch["requestBody"]["content"]
    assert {p["name"] for p in patch["parameters"]} >= {"Upload-Offset", "Tus-Resumable", "Upload-Draft-Interop-Version"}
    put = ops["PUT", "/api/v1/uploads/{upload_id}/{filename}"]
    assert put["requestBody"]["content"]["application/octet-stream"]["schema"]["format"] == "binary"
    assert "Content-Range" in {p["name"] for p in put["parameters"]}
    cleanup = ops["DELETE", "/360/cleanup"]
    assert {p["name"] for p in cleanup["parameters"]} == {"vehicle_uuid", "side", "remove_frames"}


def test_operation_ids_are_unique_and_readable(doc):
    ids = [op["operationId"] for _, _, op in operations(doc)]
    assert len(ids) == len(set(ids))
    assert "uploads_put_upload_file" in ids and "walkthrough_login" in ids and "captures_new_capture" in ids
    assert not [i for i in ids if "__" in i]


def test_fastapis_cdn_pages_are_off():
    app = create_app(Settings())
    paths = {getattr(r, "path", None) for r in app.routes}
    assert "/redoc" not in paths
    assert app.docs_url is None
