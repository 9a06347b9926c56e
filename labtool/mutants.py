"""A lab's mutants: named edits of its solution, applied when they are run.

`p4src/mutants/<lab>.toml` lists them; each is the solution with some exact
pieces of text replaced:

    [[mutant]]
    name = "unknown_vid_dropped"
    wrong = "vlan_table's default action is drop() instead of forward(2)"
    [[mutant.edit]]
    find = "default_action = forward(2);"
    replace = "default_action = drop();"

The same file may list `[[alternative]]`s in the same form (`wrong` then says
what differs): correct programs written differently from the solution (other
layouts, hashes, control flow the spec allows), which must PASS.

`[[equivalent]]` entries list generated mutants (`labtool mutate`) that the
verifier lets pass because their behaviour is one the spec allows; each has the
mutant's `id`, a `reason`, and its edit (`find`/`replace`) to read it by:

    [[equivalent]]
    id = "48637369"
    reason = "crc16 instead of crc32: the spec asks for a hash, not which one"
    find = "HashAlgorithm.crc32"
    replace = "HashAlgorithm.crc16"

Edits apply in order; each `find` must occur exactly once in the text as the
earlier edits left it. Storing edits instead of copies means a change to the
solution carries into every mutant, and an edit that no longer fits is reported
as a stale mutant (naming the mutant and the edit) instead of silently testing
an old program.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomllib

from .errors import LabtoolError, ManifestError, unknown_name

NAME = re.compile(r"^[a-z0-9][a-z0-9_]{0,47}$")
ID = re.compile(r"^[0-9a-f]{8,64}$")
KINDS = ["mutant", "alternative", "equivalent"]
EQUIVALENT_FIELDS = ["id", "reason", "find", "replace"]


class StaleMutant(LabtoolError):
    """A mutant's edit no longer applies to the solution."""


@dataclass(frozen=True)
class Edit:
    find: str
    replace: str


@dataclass(frozen=True)
class Equivalent:
    """A generated mutant (by id) whose behaviour the spec allows, and why."""
    id: str
    reason: str
    edit: Edit | None = None


@dataclass(frozen=True)
class Mutant:
    name: str
    wrong: str  # what is wrong with it, in one line
    edits: tuple[Edit, ...]

    def apply(self, solution: str) -> str:
        """The mutated program text; StaleMutant if an edit does not match exactly once."""
        text = solution
        for i, edit in enumerate(self.edits, 1):
            count = text.count(edit.find)
            if count != 1:
                where = "is not in" if count == 0 else f"occurs {count} times in"
                first = edit.find.strip().splitlines()[0] if edit.find.strip() else "(empty)"
                raise StaleMutant(f"mutant {self.name}: edit {i} of {len(self.edits)}: its text "
                                  f"{where} the solution (first line: {first!r})",
                                  hint="update the edit in the lab's mutants file")
            text = text.replace(edit.find, edit.replace, 1)
        return text


def mutants_file(root: Path, lab: str) -> Path:
    return root / "p4src" / "mutants" / f"{lab}.toml"


def _load(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ManifestError(f"{path}: {exc}") from None
    return data


def load_mutants(path: Path, kind: str = "mutant") -> list[Mutant]:
    """Mutants (or, kind="alternative", correct alternatives) of a lab, validated (file +
    entry + field in every error). No file: none."""
    data = _load(path)
    unknown = set(data) - set(KINDS)
    if unknown:
        first = sorted(unknown)[0]
        raise ManifestError(f"{path}: {unknown_name('top-level key', first, KINDS)}")
    entries = data.get(kind, [])
    if not isinstance(entries, list):
        raise ManifestError(f"{path}: write each {kind} as a [[{kind}]] table")
    mutants: list[Mutant] = []
    seen: set[str] = set()
    for i, entry in enumerate(entries):
        where = f"{path}: {kind}[{i}]"
        mutants.append(_mutant(where, entry))
        if mutants[-1].name in seen:
            raise ManifestError(f"{where}: name {mutants[-1].name!r} is used twice")
        seen.add(mutants[-1].name)
    return mutants


def _mutant(where: str, entry: Any) -> Mutant:
    if not isinstance(entry, dict):
        raise ManifestError(f"{where}: expected a table")
    for key in entry:
        if key not in ("name", "wrong", "edit"):
            raise ManifestError(f"{where}: {unknown_name('field', key, ['name', 'wrong', 'edit'])}")
    name, wrong, edits = entry.get("name"), entry.get("wrong"), entry.get("edit")
    if not isinstance(name, str) or not NAME.match(name):
        raise ManifestError(f"{where}: name must be lowercase letters, digits and _, got {name!r}")
    if not isinstance(wrong, str) or not wrong.strip():
        raise ManifestError(f"{where} ({name}): wrong = \"what is wrong\" is required")
    if not isinstance(edits, list) or not edits:
        raise ManifestError(f"{where} ({name}): at least one [[mutant.edit]] is required")
    out = []
    for j, edit in enumerate(edits):
        if not isinstance(edit, dict) or set(edit) != {"find", "replace"} or \
                not all(isinstance(v, str) for v in edit.values()) or not edit["find"]:
            raise ManifestError(f"{where} ({name}): edit[{j}] needs exactly find = \"...\" (not "
                                "empty) and replace = \"...\"")
        out.append(Edit(edit["find"], edit["replace"]))
    return Mutant(name, wrong.strip(), tuple(out))


def load_equivalents(path: Path) -> list[Equivalent]:
    """The lab's generated mutants judged equivalent, validated. No file: none."""
    data = _load(path)
    load_mutants(path)  # the same checks of the file as a whole
    entries = data.get("equivalent", [])
    if not isinstance(entries, list):
        raise ManifestError(f"{path}: write each equivalent as an [[equivalent]] table")
    out: list[Equivalent] = []
    for i, entry in enumerate(entries):
        where = f"{path}: equivalent[{i}]"
        if not isinstance(entry, dict):
            raise ManifestError(f"{where}: expected a table")
        for key in entry:
            if key not in EQUIVALENT_FIELDS:
                raise ManifestError(f"{where}: {unknown_name('field', key, EQUIVALENT_FIELDS)}")
        mid, reason = entry.get("id"), entry.get("reason")
        if not isinstance(mid, str) or not ID.match(mid):
            raise ManifestError(f"{where}: id must be the mutant's hex id, got {mid!r}")
        if not isinstance(reason, str) or not reason.strip():
            raise ManifestError(f"{where} ({mid}): reason = \"why the spec allows it\" is required")
        find, replace = entry.get("find"), entry.get("replace")
        if (find is None) != (replace is None) or not all(
                isinstance(v, str) for v in (find, replace) if v is not None):
            raise ManifestError(f"{where} ({mid}): give both find = \"...\" and replace = \"...\" "
                                "or neither")
        edit = Edit(find, replace) if isinstance(find, str) and isinstance(replace, str) else None
        out.append(Equivalent(mid, reason.strip(), edit))
    return out


def find_mutant(mutants: list[Mutant], name: str) -> Mutant:
    for mutant in mutants:
        if mutant.name == name:
            return mutant
    raise LabtoolError(unknown_name("mutant", name, [m.name for m in mutants]))


def materialize(mutant: Mutant, solution: Path, out_dir: Path) -> Path:
    """Write the mutated program next to the others of its lab and return its path. The
    file keeps the solution's name in its header so p4c's messages point somewhere a
    person recognises; its content hash makes a stale file impossible."""
    text = mutant.apply(solution.read_text())
    header = f"// MUTANT {mutant.name} of {solution.name}: {mutant.wrong}\n"
    body = header + text
    digest = hashlib.sha256(body.encode()).hexdigest()[:10]
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{mutant.name}-{digest}.p4"
    if not path.is_file():
        tmp = path.with_suffix(".tmp")
        tmp.write_text(body)
        tmp.replace(path)
    return path


def to_toml(mutants: list[Mutant], solution_name: str, kind: str = "mutant") -> str:
    """Render mutants in the file format above (used when adding mutants by tool)."""
    lines = [f"# Mutants of {solution_name}: each is the solution with its edits applied",
             "# (each `find` must occur exactly once). `labtool mutant <lab> <name>` prints one.", ""]
    return "\n".join(lines) + "".join(entry_toml(m, kind) for m in mutants)


def entry_toml(m: Mutant, kind: str = "mutant") -> str:
    """One [[mutant]] (or [[alternative]]) entry, to append to a lab's file."""
    lines = [f"[[{kind}]]", f"name = {_quote(m.name)}", f"wrong = {_quote(m.wrong)}"]
    for e in m.edits:
        lines += [f"[[{kind}.edit]]", f"find = {_block(e.find)}", f"replace = {_block(e.replace)}"]
    return "\n".join(lines) + "\n\n"


def equivalent_toml(eq: Equivalent) -> str:
    """One [[equivalent]] entry, to append to a lab's file."""
    lines = ["[[equivalent]]", f"id = {_quote(eq.id)}", f"reason = {_quote(eq.reason)}"]
    if eq.edit is not None:
        lines += [f"find = {_block(eq.edit.find)}", f"replace = {_block(eq.edit.replace)}"]
    return "\n".join(lines) + "\n\n"


def append_entry(path: Path, entry: str) -> None:
    """Add an entry at the end of a lab's mutants file, keeping everything before it as
    written (comments included); the result must still load."""
    old = path.read_text() if path.is_file() else ""
    sep = "" if not old or old.endswith("\n\n") else ("\n" if old.endswith("\n") else "\n\n")
    new = old + sep + entry
    try:
        tomllib.loads(new)
    except tomllib.TOMLDecodeError as exc:  # a labtool bug: never leave a broken file
        raise LabtoolError(f"{path}: the new entry would not parse ({exc})") from None
    tmp = path.with_suffix(".tmp")
    tmp.write_text(new)
    tmp.replace(path)


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _block(text: str) -> str:
    """A TOML string for program text: a literal multi-line string where it can be one
    (no escapes to read), else a basic string with escapes."""
    if "'''" not in text and "\n" in text and not text.endswith("'"):
        return "'''\n" + text + "'''"
    if "\n" not in text and "'" not in text:
        return "'" + text + "'"
    return _quote(text).replace("\n", "\\n").replace("\t", "\\t")
