"""Gauges read at scrape time rather than kept by the processes that change them."""

from __future__ import annotations

from prometheus_client.core import GaugeMetricFamily


def jobs_family(counts: dict[tuple[str, str], int]) -> GaugeMetricFamily:
    """omnidrop_jobs{kind,state}: jobs waiting (state="queued": the queue's depth) and running."""
    family = GaugeMetricFamily("omnidrop_jobs", "Jobs in the jobs table that are queued (the queue's depth) "
                               "or running, by kind.", labels=["kind", "state"])
    for (kind, state), count in sorted(counts.items()):
        family.add_metric([kind, state], count)
    return family
