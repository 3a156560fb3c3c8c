"""The text /metrics serves: this process's samples, or under `omnidrop serve` those of every process
in the tree (PROMETHEUS_MULTIPROC_DIR), plus gauges the caller reads at scrape time (the job queue)."""

from __future__ import annotations

import os
from collections.abc import Iterable

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.metrics_core import Metric

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


class _Fixed:
    def __init__(self, metrics: Iterable[Metric]) -> None:
        self.metrics = list(metrics)

    def collect(self) -> Iterable[Metric]:
        return self.metrics


class _ThisProcess:
    """The process's own registry, read afresh at every collection."""

    def collect(self) -> Iterable[Metric]:
        return REGISTRY.collect()


def registry(extra: Iterable[Metric] = ()) -> CollectorRegistry:
    """A registry for one scrape (or for a worker's own metrics port)."""
    out = CollectorRegistry()
    if os.environ.get(MULTIPROC_ENV):
        multiprocess.MultiProcessCollector(out)
    else:
        out.register(_ThisProcess())
    extra = list(extra)
    if extra:
        out.register(_Fixed(extra))
    return out


def render(extra: Iterable[Metric] = ()) -> tuple[bytes, str]:
    return generate_latest(registry(extra)), CONTENT_TYPE_LATEST
