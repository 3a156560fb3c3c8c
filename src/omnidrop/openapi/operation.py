"""What the OpenAPI document says about one operation beyond what FastAPI can see in its signature.

Surfaces answer with plain dicts in each API's own shape, and render errors themselves, so FastAPI
knows neither the success body nor any error status. Each surface's table (`openapi/<surface>.py`)
fills that in with an `Operation` per (method, path); `document.py` merges them into the schema.
None of this changes what a route answers: it is documentation only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel


@dataclass(frozen=True)
class Body:
    """A request body FastAPI cannot see (the route reads the raw stream)."""

    media: dict[str, dict[str, Any]]  # media type -> schema
    required: bool = True
    description: str = ""


@dataclass(frozen=True)
class Operation:
    ok: type[BaseModel] | type[list] | None = None  # JSON model of the success answer; None: see ok_media
    ok_media: dict[str, dict[str, Any]] | None = None  # non-JSON success answers: media type -> schema
    ok_status: int | None = None  # default: the status FastAPI already documents (status_code=)
    ok_headers: dict[str, str] = field(default_factory=dict)  # response header -> description
    errors: dict[int, str] = field(default_factory=dict)  # status -> the surface's codes, in words
    security: list[dict[str, list[str]]] | None = None  # None: the surface's default
    parameters: list[dict[str, Any]] = field(default_factory=list)  # headers / query FastAPI cannot see
    body: Body | None = None
    extra_ok: dict[int, str] = field(default_factory=dict)  # other success statuses (206 Partial Content…)
    # a second body an error status may carry (e.g. the framework's 404 for a path no route matches)
    error_alternatives: dict[int, type[BaseModel]] = field(default_factory=dict)


@dataclass(frozen=True)
class Surface:
    """One API surface: its error body, auth, and its operations keyed by (METHOD, path)."""

    tag: str
    error_model: type[BaseModel] | None  # None: errors carry no JSON body (see error_media)
    security: list[dict[str, list[str]]]
    operations: dict[tuple[str, str], Operation]
    error_media: dict[str, dict[str, Any]] | None = None  # non-JSON error bodies: media type -> schema
    extra_models: tuple[type[BaseModel], ...] = ()  # models referenced by hand-written schemas
    # (status, first code named for it) -> an example error body, shown in the docs beside the schema
    error_example: Callable[[int, str], dict[str, Any]] | None = None
    # corrects schemas FastAPI made from the surface's own response models (components/schemas, in place)
    adjust_schemas: Callable[[dict[str, Any]], None] | None = None


def header(name: str, description: str, *, required: bool = False, schema: dict | None = None) -> dict[str, Any]:
    return {"name": name, "in": "header", "required": required, "description": description,
            "schema": schema or {"type": "string"}}


def query(name: str, description: str, *, required: bool = False, schema: dict | None = None) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required, "description": description,
            "schema": schema or {"type": "string"}}


BINARY = {"type": "string", "format": "binary"}


def path(name: str, description: str, *, schema: dict | None = None) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "description": description,
            "schema": schema or {"type": "string"}}
