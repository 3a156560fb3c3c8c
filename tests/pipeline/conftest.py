"""Pipeline tests run jobs in the test process, so it is composed the way `omnidrop worker` is."""

import pytest

from omnidrop.worker import compose


@pytest.fixture(autouse=True)
def composed_worker() -> None:
    compose()
