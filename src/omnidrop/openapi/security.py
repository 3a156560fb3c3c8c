"""The credentials each surface takes, as OpenAPI security schemes (Swagger UI's Authorize dialog).

A requirement lists the scopes the key needs (OpenAPI 3.1 lets non-OAuth schemes name roles); an
operation with several requirements takes any one of them.
"""

from __future__ import annotations

SCHEMES = {
    "apiKey": {
        "type": "http", "scheme": "bearer", "bearerFormat": "sk_… API key",
        "description": "An API key (`omnidrop keys create`) in `Authorization: Bearer <key>`. "
                       "Its scopes decide which routes it may call.",
    },
    "loginToken": {
        "type": "http", "scheme": "bearer", "bearerFormat": "login token",
        "description": "A token from `POST /auth/login` in `Authorization: Bearer <token>` "
                       "(walkthrough routes and tus / the IETF draft).",
    },
    "xApiKey": {
        "type": "apiKey", "in": "header", "name": "X-API-Key",
        "description": "The Vehicles 360 API's alternative to `Authorization: Bearer <key>`.",
    },
    "lumaApiKey": {
        "type": "apiKey", "in": "header", "name": "Authorization",
        "description": "The Captures API's own form: `Authorization: luma-api-key=<key>` "
                       "(type the whole value, `luma-api-key=` included). Bearer works as well.",
    },
    "spatialgenAppKey": {
        "type": "apiKey", "in": "header", "name": "X-SPATIALGEN-APPKEY",
        "description": "The Direct Video Upload API's key header; the key needs `videos:upload` or `videos:admin`.",
    },
}


def bearer(*scopes: str) -> list[dict[str, list[str]]]:
    return [{"apiKey": list(scopes)}]


def bearer_or_login(*scopes: str) -> list[dict[str, list[str]]]:
    return [{"loginToken": list(scopes)}, {"apiKey": list(scopes)}]


def vehicles(scope: str) -> list[dict[str, list[str]]]:
    return [{"apiKey": [scope]}, {"xApiKey": [scope]}]


def captures() -> list[dict[str, list[str]]]:
    return [{"lumaApiKey": ["captures"]}, {"apiKey": ["captures"]}]


def spatialgen() -> list[dict[str, list[str]]]:
    return [{"spatialgenAppKey": ["videos:upload"]}, {"spatialgenAppKey": ["videos:admin"]}]


PUBLIC: list[dict[str, list[str]]] = []
