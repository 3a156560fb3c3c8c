"""The Grafana dashboard in deploy/grafana reads only series omnidrop exports."""

import json
import re
from pathlib import Path

from prometheus_client import REGISTRY

import omnidrop.telemetry.metrics  # noqa: F401  (defines every metric)

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "omnidrop.json"
SCRAPE_TIME = {"omnidrop_jobs"}  # read from the jobs table when /metrics is scraped (telemetry/scrape.py)


def exported_series() -> set[str]:
    names = set(SCRAPE_TIME)
    for family in REGISTRY.collect():
        if family.name.startswith("omnidrop_"):
            suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_count", "_sum"]}.get(family.type, [""])
            names |= {family.name + suffix for suffix in suffixes}
    return names


def test_every_panel_query_names_an_exported_series():
    panels = json.loads(DASHBOARD.read_text())["panels"]
    used = {name for panel in panels for target in panel["targets"]
            for name in re.findall(r"\bomnidrop_[a-z_]+", target["expr"])}
    assert used and used <= exported_series(), used - exported_series()
    # Every metric omnidrop exports has a panel.
    assert {re.sub(r"_(total|bucket|count|sum)$", "", n) for n in used} >= {
        re.sub(r"_(total|bucket|count|sum)$", "", n) for n in exported_series()}
