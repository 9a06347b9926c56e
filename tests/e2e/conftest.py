from __future__ import annotations

import pytest

from tests.conftest import e2e_unavailable

REASON = e2e_unavailable()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if REASON is None:
        return
    skip = pytest.mark.skip(reason=f"e2e tier needs root, p4c/BMv2 and Mininet: {REASON}")
    for item in items:
        if "tests/e2e/" in item.nodeid:
            item.add_marker(skip)
