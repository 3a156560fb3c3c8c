"""schemathesis over /openapi.json against a live server: every operation, a few generated requests
each, checked for server errors (5xx) and for answers the document does not describe (an undocumented
status, a body or content type off its schema)."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from omnidrop.app import create_app
from omnidrop.settings import Settings

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES = 4  # per operation (valid and invalid requests): ~60 operations in well under a minute

# Bodies the generic binary serializer can send: tus and IETF appends, and the drawing types it lacks.
schemathesis.serializer.alias(["application/offset+octet-stream", "application/partial-upload", "image/tiff",
                               "application/pdf"], "application/octet-stream")

# The document a default server serves (it depends on no database): one test per operation. Plain
# pytest parameters rather than schemathesis' own items, which pytest-xdist collects and then never runs.
schema = schemathesis.openapi.from_dict(create_app(Settings()).openapi())
OPERATIONS = {op.label: op for op in (result.ok() for result in schema.get_all_operations())}


@pytest.mark.parametrize("label", list(OPERATIONS))
def test_operation_answers_as_documented(label, live, all_scopes_key):
    headers = {"Authorization": f"Bearer {all_scopes_key}", "X-SPATIALGEN-APPKEY": all_scopes_key}

    # Only generated requests: the explicit phase would add schemathesis' coverage cases (dozens per operation).
    @given(case=OPERATIONS[label].as_strategy())
    @settings(max_examples=EXAMPLES, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck), database=None)
    def answers_as_documented(case):
        case.call_and_validate(base_url=live.url, headers=headers, checks=CHECKS, timeout=30)

    answers_as_documented()
