"""Generated mutants of a lab's solution: every operator site as an Edit with a
stable id.

An edit's `find` is the whole source line(s) of the change, extended by the
lines around it until it occurs exactly once in the solution, so it applies
with mutants.Mutant.apply and can be written into the lab's mutants file as it
is (`labtool mutate --promote`). The id is a hash of operator, find and
replace: the same solution text always yields the same ids, and an edit
elsewhere in the solution leaves the others' ids alone, so ids in a lab's
equivalents list and on the command line survive reruns.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from .mutants import Edit, Mutant
from .mutops import Site, sites
from .p4scan import scan

ID_LEN = 8


@dataclass(frozen=True)
class Generated:
    id: str
    operator: str
    line: int  # first changed line of the solution (1-based)
    what: str
    edit: Edit
    before: str  # the changed line(s) as in the solution
    after: str  # the same line(s) in the mutant ("" when removed)

    @property
    def name(self) -> str:
        return f"gen_{self.id}"

    def mutant(self) -> Mutant:
        return Mutant(self.name, f"line {self.line}: {self.what} ({self.operator})", (self.edit,))

    def diff(self) -> list[str]:
        """The change as diff lines with the solution's line numbers."""
        out = [f"-{self.line + n:>5} | {text}" for n, text in enumerate(self.before.splitlines())]
        out += [f"+{self.line + n:>5} | {text}" for n, text in enumerate(self.after.splitlines())]
        return out


def _edit(src: str, site: Site) -> tuple[Edit, int, str, str]:
    """The site as an edit of whole lines, unique in src; also its first line number and
    the changed lines before and after."""
    ls = src.rfind("\n", 0, site.start) + 1
    if site.end > site.start and src[site.end - 1] == "\n":
        le = site.end
    else:
        nl = src.find("\n", site.end)
        le = len(src) if nl < 0 else nl + 1
    before = src[ls:le]
    after = src[ls:site.start] + site.replacement + src[site.end:le]
    a, b = ls, le
    up = True  # one line at a time, above then below: the shortest context that is unique
    while src.count(src[a:b]) != 1 or src.find(src[a:b]) != a:
        if a == 0 and b == len(src):
            break
        if (up and a > 0) or b == len(src):
            a = src.rfind("\n", 0, a - 1) + 1
        else:
            nl = src.find("\n", b)
            b = len(src) if nl < 0 else nl + 1
        up = not up
    find = src[a:b]
    replace = src[a:ls] + after + src[le:b]
    return Edit(find, replace), src.count("\n", 0, ls) + 1, before, after


def mutant_id(operator: str, edit: Edit, taken: set[str]) -> str:
    digest = hashlib.sha256(f"{operator}\0{edit.find}\0{edit.replace}".encode()).hexdigest()
    n = ID_LEN
    while digest[:n] in taken:  # a collision of short ids: deterministic, longer
        n += 1
    return digest[:n]


def generate(src: str, operators: list[str] | None = None) -> list[Generated]:
    """Every mutant of src, in source order; variants whose program text equals an
    earlier one's (two operators making the same change) are kept once."""
    found: list[Generated] = []
    taken: set[str] = set()
    texts: set[str] = {src}
    for site in sorted(sites(scan(src), operators), key=lambda s: (s.start, s.end)):
        edit, line, before, after = _edit(src, site)
        text = src[:src.find(edit.find)] + edit.replace + src[src.find(edit.find) + len(edit.find):]
        if text in texts:
            continue
        texts.add(text)
        gid = mutant_id(site.operator, edit, taken)
        taken.add(gid)
        found.append(Generated(gid, site.operator, line, site.what, edit, before, after))
    return found


def find_generated(found: list[Generated], gid: str) -> Generated:
    from .errors import LabtoolError, unknown_name

    matches = [g for g in found if g.id.startswith(gid)] if gid else []
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise LabtoolError(f"mutant id {gid!r} is ambiguous: {', '.join(g.id for g in matches)}")
    raise LabtoolError(unknown_name("generated mutant", gid, [g.id for g in found]),
                       hint="ids come from `labtool mutate <lab> --list`")
