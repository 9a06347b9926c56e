"""The control-plane contract: parsing a manifest's [contract], checking a compiled
program's names against it (one line per mismatch, naming the closest match)."""

from __future__ import annotations

from pathlib import Path

import finsy as fy
import pytest

from labtool.contract import (
    Contract,
    ProgramNames,
    ProgramTable,
    check,
    parse_contract,
    program_names,
)
from labtool.errors import ManifestError
from labtool.manifest import find_lab, lab_names

REPEATER = {
    "tables": {"repeater": {"key": {"standard_metadata.ingress_port": ["exact", 9]},
                            "actions": ["forward", "drop"]}},
    "actions": {"forward": {"port": 9}, "drop": {}},
    "registers": {"counts": 32},
}


def fail(field: str, problem: str) -> Exception:
    return ManifestError(f"contract.{field}: {problem}")


def fixture_program() -> ProgramNames:
    path = Path(__file__).resolve().parents[1] / "fixtures" / "sample.p4info.txtpb"
    return program_names(fy.P4Schema(path))


def test_sample_program_keeps_the_repeater_contract() -> None:
    assert check(parse_contract(REPEATER, fail), fixture_program()) == []


def test_every_shipped_manifest_declares_a_valid_contract(repo_root: Path) -> None:
    for name in lab_names(repo_root):
        find_lab(repo_root, name)  # parse errors would raise


def program(key: tuple[tuple[str, str, int], ...] = (("standard_metadata.ingress_port", "exact", 9),),
            params: tuple[tuple[str, int], ...] = (("port", 9),),
            table: str = "MyIngress.repeater", registers: dict[str, int] | None = None) -> ProgramNames:
    return ProgramNames(
        tables=(ProgramTable(table, key, ("MyIngress.forward", "MyIngress.drop")),),
        actions={"MyIngress.forward": params, "MyIngress.drop": ()},
        registers=registers if registers is not None else {"MyIngress.counts": 32})


def problems(prog: ProgramNames) -> list[str]:
    return check(parse_contract(REPEATER, fail), prog)


def test_renamed_parameter_names_both() -> None:
    assert problems(program(params=(("egress_port", 9),))) == [
        "action forward: parameter egress_port — the lab sets port"]


def test_missing_table_names_the_closest() -> None:
    (line,) = problems(program(table="MyIngress.repeater_table"))
    assert line.startswith("table repeater: not in the program; closest in the program: "
                           "'repeater_table'")


def test_wrong_match_kind_and_narrow_width() -> None:
    out = problems(program(key=(("standard_metadata.ingress_port", "lpm", 8),)))
    assert "table repeater: key field standard_metadata.ingress_port is matched lpm, the lab " \
           "needs exact" in out
    assert "table repeater: key field standard_metadata.ingress_port is bit<8>, the lab needs " \
           "bit<9>" in out


def test_wider_fields_keep_the_contract() -> None:
    assert problems(program(key=(("standard_metadata.ingress_port", "exact", 16),),
                            params=(("port", 16),))) == []


def test_other_key_field() -> None:
    (line,) = problems(program(key=(("hdr.ethernet.dstAddr", "exact", 48),)))
    assert "key field standard_metadata.ingress_port (exact) is missing" in line


def test_extra_key_field() -> None:
    (line,) = problems(program(key=(("standard_metadata.ingress_port", "exact", 9),
                                    ("hdr.ethernet.etherType", "exact", 16))))
    assert "hdr.ethernet.etherType" in line and "does not set" in line


def test_extra_wildcard_key_field_keeps_the_contract() -> None:
    """Entries without the field match any value of it (P4Runtime), so the lab's
    controller still drives the table."""
    for kind in ("ternary", "lpm", "range", "optional"):
        assert problems(program(key=(("standard_metadata.ingress_port", "exact", 9),
                                     ("hdr.ipv4.protocol", kind, 8)))) == []


def test_missing_and_narrow_register() -> None:
    assert problems(program(registers={})) == [
        "register counts: not in the program (the program has no registers)"]
    assert problems(program(registers={"MyIngress.counts": 16})) == [
        "register counts: cells are bit<16>, the lab needs at least bit<32>"]


def test_extra_action_parameter() -> None:
    (line,) = problems(program(params=(("port", 9), ("mac", 48))))
    assert line.startswith("action forward: parameter mac is one the lab does not set")


@pytest.mark.parametrize("data, message", [
    ({"table": {}}, "unknown section; did you mean 'tables'?"),
    ({"tables": {"t": {"key": {"f": "exakt"}, "actions": []}}}, "'exakt' is not a match kind"),
    ({"tables": {"t": {"key": {}, "actions": ["a"]}}}, "declare a under [contract.actions]"),
    ({"actions": {"a": {"p": -1}}}, "expected a bit width"),
])
def test_bad_contracts_are_reported(data: dict[str, object], message: str) -> None:
    with pytest.raises(ManifestError, match=None) as exc:
        parse_contract(data, fail)
    assert message in str(exc.value)


def test_empty_contract() -> None:
    assert Contract().empty and not parse_contract(REPEATER, fail).empty


def test_action_name_in_two_controls_keeps_the_contract() -> None:
    prog = program()
    actions = dict(prog.actions)
    actions["MyEgress.drop"] = ()
    actions["MyEgress.forward"] = (("egress_port", 9),)
    both = ProgramNames(prog.tables, actions, prog.registers)
    assert problems(both) == []
