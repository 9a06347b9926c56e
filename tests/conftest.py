"""Shared fixtures. Tiers: tests/unit (no root, no toolchain) and tests/e2e
(root + p4c + BMv2 + Mininet; skipped with the reason when any is missing)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def repo_root() -> Path:
    return ROOT


@pytest.fixture
def lab_tree(tmp_path: Path) -> Path:
    """A minimal lab repository to write manifests into."""
    (tmp_path / "topologies").mkdir()
    (tmp_path / "p4src").mkdir()
    (tmp_path / "verifiers").mkdir()
    (tmp_path / "p4src" / "x.p4").write_text("// program\n")
    (tmp_path / "verifiers" / "x.py").write_text("def verify(lab):\n    pass\n")
    return tmp_path


def e2e_unavailable() -> str | None:
    """Why the e2e tier cannot run here, or None if it can."""
    import os
    import shutil

    from labtool import toolchain

    if os.geteuid() != 0:
        return "not root"
    missing = [t for t in ("p4c-bm2-ss", "simple_switch_grpc") if toolchain.find_tool(t) is None]
    if missing:
        return f"{' and '.join(missing)} not found (PATH or LABTOOL_P4_PREFIX)"
    if shutil.which("mnexec") is None:
        return "mnexec (Mininet) not found"
    return None


_tier_counts: dict[str, dict[str, int]] = {}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when != "call" and not (report.when == "setup" and report.skipped):
        return
    tier = "e2e" if "tests/e2e/" in report.nodeid else "unit"
    counts = _tier_counts.setdefault(tier, {"passed": 0, "failed": 0, "skipped": 0})
    outcome = "skipped" if report.skipped else report.outcome
    counts[outcome] = counts.get(outcome, 0) + 1


def pytest_terminal_summary(terminalreporter: object) -> None:
    parts = []
    for tier in ("unit", "e2e"):
        c = _tier_counts.get(tier)
        reason = e2e_unavailable() if tier == "e2e" else None
        if not c:
            parts.append(f"{tier} not collected")
        elif c["passed"] + c["failed"] == 0:
            parts.append(f"{tier} SKIPPED ({reason or 'all tests skipped'})")
        else:
            parts.append(f"{tier} ran ({c['passed']} passed, {c['failed']} failed, "
                         f"{c['skipped']} skipped)")
    print("\ntiers: " + "; ".join(parts))
