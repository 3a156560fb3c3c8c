"""schemathesis over /openapi.json against a live server: every operation, a few generated requests
each, checked for server errors (5xx) and for answers the document does not describe (an undocumented
status, a body or content type off its schema)."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, Phase, settings
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
BIG = 2**63


def _huge(value) -> bool:
    if isinstance(value, dict):
        return any(_huge(v) for v in value.values())
    if isinstance(value, list):
        return any(_huge(v) for v in value)
    if isinstance(value, str) and value.lstrip("-").isdigit():
        value = int(value)
    return isinstance(value, int) and abs(value) >= BIG


def _huge_integer(case) -> bool:
    return _huge([case.query or {}, case.path_parameters or {}, case.body if isinstance(case.body, (dict, list)) else None])


def _non_json_body(case) -> bool:
    sent = {k.lower(): v for k, v in (case.headers or {}).items()}.get("content-type") or case.media_type or ""
    return "json" not in sent


# KNOWN server errors another branch of issue 19 fixes: each is tolerated only for the exact request
# it names, every other 5xx fails. The lead removes this list after merging that branch.
KNOWN_SERVER_ERRORS = {
    # a JSON route sent text/plain, a form…: file_upload.render_error puts the raw body bytes into its answer
    ("POST", "/api/v1/projects"): _non_json_body,
    ("POST", "/api/v1/uploads/{upload_id}/files"): _non_json_body,
    # integers >= 2^63 overflow the databases' BIGINT (limit / offset)
    ("GET", "/api/videos/uploads"): _huge_integer,
    ("GET", "/api/videos/library"): _huge_integer,
    ("GET", "/api/v1/captures"): _huge_integer,
    ("POST", "/api/v1/captures"): _huge_integer,
    ("GET", "/api/v1/projects"): _huge_integer,
    ("POST", "/api/v1/captures/{eid}/create-upload-url/{part_no}"): _huge_integer,
}

# Bodies the generic binary serializer can send: tus and IETF appends, and the drawing types it lacks.
schemathesis.serializer.alias(["application/offset+octet-stream", "application/partial-upload", "image/tiff",
                               "application/pdf"], "application/octet-stream")

# The document a default server serves (it depends on no database): one test per operation.
schema = schemathesis.openapi.from_dict(create_app(Settings()).openapi())


@schema.parametrize()
# Only generated requests: the explicit phase would add schemathesis' coverage cases (dozens per operation).
@settings(max_examples=EXAMPLES, deadline=None, phases=[Phase.generate],
          suppress_health_check=list(HealthCheck))
def test_operation_answers_as_documented(case, live, all_scopes_key):
    headers = {"Authorization": f"Bearer {all_scopes_key}", "X-SPATIALGEN-APPKEY": all_scopes_key}
    known = KNOWN_SERVER_ERRORS.get((case.operation.method.upper(), case.operation.path))
    if known is not None and known(case):
        response = case.call(base_url=live.url, headers=headers, timeout=30)
        if response.status_code >= 500:
            return  # the known error above; anything else about this request is still checked below
        case.validate_response(response, checks=CHECKS)
        return
    case.call_and_validate(base_url=live.url, headers=headers, checks=CHECKS, timeout=30)
