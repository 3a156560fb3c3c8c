"""/metrics and JSON logs on a real `omnidrop serve` (HTTP server and embedded job worker in separate
processes): an upload and its project job are counted, uploads through tus, the IETF draft and S3-style
parts are counted under their own surface and protocol, and the upload's request id reaches the job's
log lines on the worker."""

import base64
import json
import threading
import time
from urllib.parse import quote

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support import projects

REQUEST_ID = "metrics-test-0001"
PROCESS_KIND = "project.process"


@pytest.fixture(scope="module")
def live(servers, tmp_path_factory):
    return servers.start(data_dir=tmp_path_factory.mktemp("telemetry"), log_format="json")


@pytest.fixture(scope="module")
def processed(live):
    """Two files uploaded (one whole, one in two Content-Range chunks), then a project job run to its end."""
    headers = live.headers()
    api = live.api
    whole, chunked = b"a" * 150_000, b"b" * 70_000
    sid = projects.upload(api, headers, {"scan.e57": whole})
    for start, end in ((0, 40_000), (40_000, 70_000)):
        r = httpx.put(f"{api}/uploads/{sid}/cloud.ply", content=chunked[start:end], headers={
            **headers, "Content-Range": f"bytes {start}-{end - 1}/{len(chunked)}"})
        assert r.status_code == 200, r.text
    created = projects.create(api, {**headers, "X-Request-ID": REQUEST_ID}, upload_id=sid)
    assert created.status_code == 201, created.text
    assert projects.wait(api, headers, sid)["status"] == 100
    return {"sid": sid, "sent": len(whole) + len(chunked), "echoed": created.headers.get("x-request-id")}


def scrape(live) -> dict[str, list]:
    text = httpx.get(f"{live.url}/metrics").text
    return {family.name: family.samples for family in text_string_to_metric_families(text)}


def value(samples: list, name: str, **labels: str) -> float:
    return sum(s.value for s in samples if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()))


def test_metrics_count_the_upload_and_the_worker_job(live, processed):
    families = scrape(live)
    received = families["omnidrop_upload_received_bytes"]
    labels = {"surface": "file_upload", "protocol": "content_range"}
    assert value(received, "omnidrop_upload_received_bytes_total", **labels) == processed["sent"]
    # Local disk overwrites in place: every received byte was stored.
    assert value(families["omnidrop_upload_stored_bytes"], "omnidrop_upload_stored_bytes_total", **labels) == processed["sent"]
    assert value(families["omnidrop_uploads_in_flight"], "omnidrop_uploads_in_flight") == 0

    # Recorded by the worker process, scraped through the server's /metrics.
    jobs = families["omnidrop_job_duration_seconds"]
    assert value(jobs, "omnidrop_job_duration_seconds_count", kind=PROCESS_KIND, outcome="done") == 1
    assert value(jobs, "omnidrop_job_duration_seconds_count", kind=PROCESS_KIND, outcome="failed") == 0

    latency = families["omnidrop_http_request_duration_seconds"]
    chunk_route = {"method": "PUT", "route": "/api/v1/uploads/{upload_id}/{filename:path}", "status": "200"}
    assert value(latency, "omnidrop_http_request_duration_seconds_count", **chunk_route) == 3
    routes = {s.labels["route"] for s in latency}
    assert not any(processed["sid"] in route for route in routes), routes  # templates, never raw paths


def in_flight(live, **labels: str) -> float:
    return value(scrape(live)["omnidrop_uploads_in_flight"], "omnidrop_uploads_in_flight", **labels)


def test_metrics_count_tus_ietf_and_part_uploads_per_surface_and_protocol(live, processed):
    headers = live.headers()
    tus_body, ietf_body, part_body = b"t" * 30_000, b"i" * 20_000, b"p" * 10_000
    resumable = {"surface": "resumable", "protocol": "tus"}

    # tus: created empty, then one PATCH whose body is held open midway, an upload in flight meanwhile.
    created = httpx.post(f"{live.url}/files/", headers={
        **headers, "Tus-Resumable": "1.0.0", "Upload-Length": str(len(tus_body)),
        "Upload-Metadata": "filename " + base64.b64encode(b"walk.e57").decode()})
    assert created.status_code == 201, created.text
    release = threading.Event()
    answer: dict = {}

    def held_body():
        yield tus_body[:10_000]
        release.wait(30)
        yield tus_body[10_000:]

    def patch() -> None:
        answer["r"] = httpx.patch(created.headers["Location"], content=held_body(), timeout=60, headers={
            **headers, "Tus-Resumable": "1.0.0", "Upload-Offset": "0",
            "Content-Type": "application/offset+octet-stream"})

    sender = threading.Thread(target=patch)
    sender.start()
    try:
        deadline = time.monotonic() + 20
        while in_flight(live, **resumable) != 1:
            assert time.monotonic() < deadline, "the held PATCH never showed as an upload in flight"
            time.sleep(0.05)
    finally:
        release.set()
        sender.join(60)
    assert answer["r"].status_code == 204, answer["r"].text
    assert answer["r"].headers["Upload-Offset"] == str(len(tus_body))

    # The IETF draft: one creation carrying the whole body.
    ietf = httpx.post(f"{live.url}/files/", content=ietf_body, headers={
        **headers, "Upload-Draft-Interop-Version": "6", "Upload-Complete": "?1",
        "Content-Disposition": 'attachment; filename="draft.e57"'})
    assert ietf.status_code == 201, ietf.text

    # Companion's S3 multipart routes: the part PUT goes to omnidrop's own part URL (local disk).
    s3 = httpx.post(f"{live.url}/s3/multipart", json={"filename": "cloud.ply"}, headers=headers)
    assert s3.status_code == 200, s3.text
    upload_id, key = s3.json()["uploadId"], s3.json()["key"]
    where = f"{live.url}/s3/multipart/{quote(upload_id, safe='')}"
    signed = httpx.get(f"{where}/1", params={"key": key}, headers=headers)
    assert signed.status_code == 200, signed.text
    put = httpx.put(signed.json()["url"], content=part_body)
    assert put.status_code == 200, put.text
    done = httpx.post(f"{where}/complete", params={"key": key}, headers=headers,
                      json={"parts": [{"PartNumber": 1, "ETag": put.headers["ETag"]}]})
    assert done.status_code == 200, done.text

    families = scrape(live)
    expected = {("resumable", "tus"): len(tus_body), ("resumable", "ietf_resumable"): len(ietf_body),
                # Parts PUT to omnidrop's own part URLs count under that surface, whichever API made them.
                ("part_urls", "parts"): len(part_body),
                ("file_upload", "content_range"): processed["sent"]}
    for metric in ("omnidrop_upload_received_bytes", "omnidrop_upload_stored_bytes"):
        series = {(s.labels["surface"], s.labels["protocol"]): s.value
                  for s in families[metric] if s.name == metric + "_total"}
        assert series == expected, (metric, series)
    gauge = {(s.labels["surface"], s.labels["protocol"]): s.value for s in families["omnidrop_uploads_in_flight"]}
    assert gauge[("resumable", "tus")] == 0 and set(gauge.values()) == {0}, gauge


def test_the_queue_is_read_at_scrape_time_and_is_empty_once_the_job_is_done(live, processed):
    families = scrape(live)
    assert "omnidrop_jobs" in families  # served even with nothing waiting (tests/jobs/test_depth.py counts)
    assert value(families["omnidrop_jobs"], "omnidrop_jobs") == 0


def test_json_log_lines_carry_the_request_id_into_the_jobs_lines(live, processed):
    assert processed["echoed"] == REQUEST_ID
    deadline = time.monotonic() + 10  # the worker's last line may still be on its way to the file
    while True:
        lines = [json.loads(line) for line in live.log().splitlines() if line.startswith("{")]
        ours = [line for line in lines if line.get("request_id") == REQUEST_ID]
        job_lines = [line for line in ours if line["logger"] == "omnidrop.jobs.runner"]
        if len(job_lines) >= 2 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    access = [line for line in ours if line["logger"] == "omnidrop.access"]
    assert [(a["method"], a["route"], a["status"]) for a in access] == [("POST", "/api/v1/projects", 201)]
    assert {line["job_id"] for line in job_lines} and all(line["job_id"] for line in job_lines)
    assert any("started" in line["message"] for line in job_lines), job_lines
    assert any("done" in line["message"] for line in job_lines), job_lines
    assert {line["pid"] for line in job_lines} != {access[0]["pid"]}  # written by the worker process
    assert all(line["level"] in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"} for line in lines)
    # A request without an id gets a fresh one, echoed back.
    generated = httpx.get(f"{live.url}/healthz").headers["x-request-id"]
    assert len(generated) == 32 and generated != REQUEST_ID
