"""Named checks and verdicts: what a verifier produces and reports print."""

from __future__ import annotations

from dataclasses import dataclass, field


class CheckFailed(Exception):
    """Raised inside a check when the program under test misbehaves."""


class HarnessError(Exception):
    """The harness itself could not observe reliably (e.g. capture drops): never the
    student's fault, so it ends the run as an error (exit 2), not as FAIL."""


class VerdictReached(Exception):
    """A check failed in a run that needs only its verdict (a mutant's: killed is
    killed), so the rest of the verifier is skipped. Raised by LabContext.check."""


@dataclass
class CheckResult:
    name: str
    passed: bool
    detail: str = ""
    seconds: float = 0.0


@dataclass
class Verdict:
    lab: str
    program: str
    checks: list[CheckResult] = field(default_factory=list)
    error: str | None = None  # set when the run could not be completed
    timings: dict[str, float] = field(default_factory=dict)
    run_dir: str = ""
    notes: list[str] = field(default_factory=list)  # e.g. a retry after harness loss
    seed: int | None = None  # reproduces the run: `labtool run <lab> --seed N`

    @property
    def reruns(self) -> int:
        """How often the run was redone because frames were lost outside the program."""
        return sum(note.startswith("attempt ") for note in self.notes)

    @property
    def passed(self) -> bool:
        return self.error is None and bool(self.checks) and all(c.passed for c in self.checks)

    @property
    def status(self) -> str:
        return "ERROR" if self.error is not None else "PASS" if self.passed else "FAIL"

    def first_failure(self) -> CheckResult | None:
        return next((c for c in self.checks if not c.passed), None)

    def one_line(self) -> str:
        line = self._one_line()
        return line if self.seed is None else f"{line} [seed {self.seed}]"

    def _one_line(self) -> str:
        ok = sum(c.passed for c in self.checks)
        if self.error is not None:
            return f"{self.lab}: ERROR: {self.error.splitlines()[0]}"
        if self.passed:
            return f"{self.lab}: PASS ({ok}/{len(self.checks)} checks)"
        if not self.checks:
            return f"{self.lab}: FAIL (the verifier ran no check)"
        first = self.first_failure()
        assert first is not None
        reason = first.detail.splitlines()[0] if first.detail else ""
        return (f"{self.lab}: FAIL ({ok}/{len(self.checks)} checks passed; "
                f"first failure: {first.name}: {reason})")
