"""Every metric omnidrop records (docs/metrics.md lists them with their labels).

Under `omnidrop serve` every process of the tree writes its samples into PROMETHEUS_MULTIPROC_DIR
(prometheus-client's multiprocess mode, chosen at import from the environment), and /metrics adds
them up; a process started alone keeps them in memory. Labels are small fixed sets (route templates,
surface and protocol names, job kinds), never raw paths or ids.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import Counter, Gauge, Histogram

# Requests: from a few ms (HEAD, small JSON) to minutes (a multi-GiB PUT).
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900)
# Jobs: from a thumbnail (well under a second) to a long walkthrough or capture.
JOB_BUCKETS = (0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200)

HTTP_REQUEST_DURATION = Histogram(
    "omnidrop_http_request_duration_seconds",
    "HTTP request latency, from the request's start to the end of its response, per route template.",
    ["method", "route", "status"], buckets=LATENCY_BUCKETS)

RECEIVED_BYTES = Counter(
    "omnidrop_upload_received_bytes",
    "Upload body bytes taken in by the core (or stored by the server straight into the file).",
    ["surface", "protocol"])
STORED_BYTES = Counter(
    "omnidrop_upload_stored_bytes",
    "Upload bytes the blob store wrote (resent bytes an append-only store skips are not stored again).",
    ["surface", "protocol"])
UPLOADS_IN_FLIGHT = Gauge(
    "omnidrop_uploads_in_flight",
    "Requests streaming an upload body right now.",
    ["surface", "protocol"], multiprocess_mode="livesum")

JOB_DURATION = Histogram(
    "omnidrop_job_duration_seconds",
    "Job attempts by kind and outcome (done, failed, retried, lease_lost); _count counts the outcomes.",
    ["kind", "outcome"], buckets=JOB_BUCKETS)

LEASE_TAKEOVERS = Counter(
    "omnidrop_lease_takeovers",
    "Writers that found their lease taken over by another (upload: a file's writer; job: a job's worker).",
    ["lease"])
STORAGE_ERRORS = Counter(
    "omnidrop_storage_errors",
    "Blob store operations that failed (upload: an upload's bytes or parts; job_output: a job's outputs).",
    ["operation"])
RATE_LIMIT_REFUSALS = Counter(
    "omnidrop_rate_limit_refusals",
    "Requests refused by a rate limit, per limited route (logins: login:user or login:address).",
    ["route"])


@contextmanager
def storage_errors(operation: str, not_the_stores: tuple[type[BaseException], ...] = ()) -> Iterator[None]:
    """Counts an exception out of the block as a storage error, unless it is one of `not_the_stores`
    (a body's own errors travel through a store's write: a client gone, a length exceeded)."""
    try:
        yield
    except not_the_stores:
        raise
    except Exception:
        STORAGE_ERRORS.labels(operation).inc()
        raise
