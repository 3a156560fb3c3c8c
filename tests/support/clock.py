"""A process clock that is wrong: every omnidrop module's `utcnow` shifted by a fixed amount.

Leases, expiries and orderings are the database's (DESIGN.md, invariant 9), so a node whose own clock
is off by hours must decide exactly as one whose clock is right. Tests skew the clock with this and
check that nothing expires early or lives forever.
"""

from __future__ import annotations

import sys
from datetime import timedelta

import pytest

from omnidrop.db import types


def skew_process_clock(monkeypatch: pytest.MonkeyPatch, by: timedelta) -> None:
    """From now on `utcnow()` answers the true time + `by`, in every omnidrop module that imported it."""
    true_utcnow = types.utcnow

    def skewed():
        return true_utcnow() + by

    for name, module in list(sys.modules.items()):
        if name.startswith("omnidrop") and getattr(module, "utcnow", None) is true_utcnow:
            monkeypatch.setattr(module, "utcnow", skewed)
