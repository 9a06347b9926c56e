"""Writing a generated mutant into its lab's mutants file: `--promote` makes a
survivor a named [[mutant]] (a regression test once the verifier kills it, run
by `labtool selftest`), `--equivalent` lists it as allowed by the spec."""

from __future__ import annotations

from .errors import LabtoolError
from .manifest import Lab
from .mutants import (
    NAME,
    Equivalent,
    Mutant,
    append_entry,
    entry_toml,
    equivalent_toml,
    load_equivalents,
    load_mutants,
)
from .mutgen import Generated, find_generated, generate


def _generated(lab: Lab, gid: str) -> Generated:
    return find_generated(generate(lab.program.read_text()), gid)


def promote(lab: Lab, gid: str, name: str | None = None, wrong: str | None = None) -> Mutant:
    """Append the generated mutant `gid` to the lab's [[mutant]]s; returns it."""
    gen = _generated(lab, gid)
    name = name or f"{gen.operator.replace('-', '_')}_{gen.id}"
    if not NAME.match(name):
        raise LabtoolError(f"--name {name!r}: use lowercase letters, digits and _ (at most 48)")
    existing = load_mutants(lab.mutants_file) + load_mutants(lab.mutants_file, "alternative")
    for m in existing:
        if m.name == name:
            raise LabtoolError(f"{lab.mutants_file}: a mutant named {name!r} exists already")
        if m.edits == (gen.edit,):
            raise LabtoolError(f"{lab.mutants_file}: mutant {m.name} is this edit already")
    text = wrong or f"line {gen.line}: {gen.what} ({gen.operator}, from labtool mutate {gen.id})"
    mutant = Mutant(name, " ".join(text.split()), (gen.edit,))
    mutant.apply(lab.program.read_text())  # fits the solution exactly once, by construction
    append_entry(lab.mutants_file, entry_toml(mutant))
    return mutant


def mark_equivalent(lab: Lab, gid: str, reason: str) -> Equivalent:
    """Append the generated mutant `gid` to the lab's [[equivalent]]s; returns the entry."""
    gen = _generated(lab, gid)
    if not reason.strip():
        raise LabtoolError("--equivalent needs a reason: why the spec allows this behaviour")
    if any(gen.id.startswith(eq.id) for eq in load_equivalents(lab.mutants_file)):
        raise LabtoolError(f"{lab.mutants_file}: {gen.id} is listed as equivalent already")
    entry = Equivalent(gen.id, " ".join(reason.split()), gen.edit)
    append_entry(lab.mutants_file, equivalent_toml(entry))
    return entry
