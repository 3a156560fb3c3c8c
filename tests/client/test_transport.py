"""The shared retry rules, against a scripted server (httpx.MockTransport)."""

from __future__ import annotations

import httpx
import pytest

from omnidrop.client.errors import ApiError, TransportError
from omnidrop.client.transport import RetryPolicy, Transport


def scripted(*answers):
    """A transport answering with `answers` in turn (an exception instance is raised instead)."""
    seen = []
    queue = list(answers)

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        answer = queue.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    return httpx.MockTransport(handle), seen


def transport(mock, attempts=5):
    slept = []
    policy = RetryPolicy(attempts=attempts, sleep=slept.append)
    return Transport("http://omnidrop.test", http_transport=mock, retry=policy), slept


def test_429_waits_as_long_as_retry_after_says():
    mock, seen = scripted(httpx.Response(429, headers={"Retry-After": "7"}, json={"error": "rate_limited"}),
                          httpx.Response(200, json={"ok": 1}))
    t, slept = transport(mock)
    assert t.json("GET", "/x") == {"ok": 1}
    assert slept == [7.0] and len(seen) == 2


def test_5xx_and_network_errors_back_off_then_succeed():
    mock, seen = scripted(httpx.Response(503), httpx.ConnectError("refused"), httpx.Response(500),
                          httpx.Response(200, json={}))
    t, slept = transport(mock)
    t.call("GET", "/x")
    assert len(seen) == 4 and len(slept) == 3
    assert all(0 <= s <= 30 for s in slept)


def test_4xx_is_not_retried():
    mock, seen = scripted(httpx.Response(415, json={"error": "extension_not_allowed", "extension": "exe"}))
    t, slept = transport(mock)
    with pytest.raises(ApiError) as caught:
        t.call("PUT", "/x")
    assert caught.value.code == "extension_not_allowed" and slept == [] and len(seen) == 1


def test_a_retry_budget_ends_in_a_transport_error():
    mock, seen = scripted(*[httpx.ReadTimeout("slow")] * 3)
    t, _ = transport(mock, attempts=3)
    with pytest.raises(TransportError, match="gave up after 3 tries"):
        t.call("GET", "/x")


def test_a_final_code_is_an_answer_even_as_a_500():
    mock, seen = scripted(httpx.Response(500, json={"error": {"code": "PROCESSING_FAILED", "message": "corrupt"}}))
    t, slept = transport(mock)
    with pytest.raises(ApiError):
        t.call("GET", "/360/frames", final_codes=frozenset({"PROCESSING_FAILED"}))
    assert slept == []


def test_backoff_grows_and_is_capped():
    policy = RetryPolicy(base_seconds=1, max_seconds=8)
    policy.rng.seed(1)
    assert all(policy.delay(n) <= min(8, 2 ** (n - 1)) for n in range(1, 12))
    assert policy.delay(3, wait_hint=5000) == policy.max_retry_after_seconds
