"""One live server for the OpenAPI tests, and a key that may call every surface."""

from __future__ import annotations

import pytest

SCOPES = ("projects:write", "projects:read", "vehicles:write", "vehicles:read", "captures", "videos:upload")


@pytest.fixture(scope="session")
def live(servers):
    return servers.start(fsync=False)


@pytest.fixture(scope="session")
def all_scopes_key(live) -> str:
    return live.key(*SCOPES)
