from __future__ import annotations

from pathlib import Path

import pytest

from labtool.errors import LabtoolError, ManifestError
from labtool.manifest import find_lab, lab_names, load_lab, mac_from_ip

GOOD = """
title = "t"
program = "p4src/x.p4"
verifier = "verifiers/x.py"
links = [["h1", "s1:1"], ["h2", "s1:2"]]
[hosts.h1]
ip = "10.0.0.1/24"
[hosts.h2]
ip = "10.0.0.2/24"
mac = "00:00:00:00:00:22"
[switches.s1]
"""


def write(tree: Path, text: str, name: str = "x") -> Path:
    path = tree / "topologies" / f"{name}.toml"
    path.write_text(text)
    return path


def error_of(tree: Path, text: str) -> str:
    with pytest.raises(ManifestError) as exc:
        load_lab(write(tree, text), tree)
    return str(exc.value)


def test_shipped_labs_load(repo_root: Path) -> None:
    names = lab_names(repo_root)
    assert {"reflector", "repeater", "vlan"} <= set(names)
    for name in names:
        lab = find_lab(repo_root, name)
        assert lab.switches and lab.hosts
        assert lab.verifier.is_file()


def test_good_manifest(lab_tree: Path) -> None:
    lab = load_lab(write(lab_tree, GOOD), lab_tree)
    assert lab.hosts["h1"].mac == "00:00:0a:00:00:01"
    assert lab.hosts["h2"].mac == "00:00:00:00:00:22"
    assert lab.hosts["h1"].prefixlen == 24
    assert lab.switches["s1"].device_id == 1
    assert lab.host_port == {"h1": ("s1", 1), "h2": ("s1", 2)}


def test_mac_from_ip() -> None:
    assert mac_from_ip("10.0.1.1") == "00:00:0a:00:01:01"


@pytest.mark.parametrize("change, expected", [
    (("[switches.s1]", "[switches.s1]\ndevice_idd = 3"),
     "switches.s1: no field 'device_idd'; did you mean 'device_id'?"),
    (('"s1:2"', '"s1:0"'), "links[1]: port '0' of 's1:0' must be a number from 1 to 510"),
    (('"s1:2"', '"s1:1"'), "links[1]: s1:1 is already used by links[0]"),
    (('["h2", "s1:2"]', '["h3", "s1:2"]'), "links[1]: no node 'h3'; did you mean 'h2'? (valid: h1, h2, s1)"),
    (('ip = "10.0.0.1/24"', 'ip = "10.0.0.300/24"'), "hosts.h1.ip:"),
    (('ip = "10.0.0.1/24"', 'ip = "10.0.0.1"'), "hosts.h1.ip: give the prefix length"),
    (('program = "p4src/x.p4"', 'program = "p4src/nope.p4"'),
     "program: file p4src/nope.p4 does not exist"),
    (('verifier = "verifiers/x.py"\n', ""), "verifier: missing (required)"),
    (('["h1", "s1:1"], ', ""), "hosts.h1: host is not linked to any switch"),
    (('"s1:1"]', '"s1"]'), 'links[0]: switch end \'s1\' needs a port: "s1:N"'),
    (('title = "t"', "title = 3"), "title: expected a string, got 3"),
    (('title = "t"', 'title = "t"\nlog_level = "loud"'), "log_level: no log level 'loud'"),
    (("[hosts.h1]", "[hosts.H1]"), "hosts.H1: node names are a lowercase letter"),
])
def test_bad_manifests_name_file_and_field(lab_tree: Path, change: tuple[str, str],
                                          expected: str) -> None:
    old, new = change
    assert old in GOOD
    message = error_of(lab_tree, GOOD.replace(old, new, 1))
    assert message.startswith("topologies/x.toml: ")
    assert expected in message


def test_toml_syntax_error(lab_tree: Path) -> None:
    assert "topologies/x.toml: syntax:" in error_of(lab_tree, "links = [")


def test_unknown_lab_lists_valid_names(repo_root: Path) -> None:
    with pytest.raises(LabtoolError) as exc:
        find_lab(repo_root, "repeter")
    assert "did you mean 'repeater'?" in str(exc.value)
    assert "reflector" in str(exc.value)


def test_with_program_replaces_only_lab_program(lab_tree: Path) -> None:
    lab = load_lab(write(lab_tree, GOOD), lab_tree)
    other = lab_tree / "p4src" / "student.p4"
    other.write_text("//\n")
    swapped = lab.with_program(other)
    assert swapped.switches["s1"].program == other
    assert swapped.programs() == [other]


def test_host_stacks_flag(lab_tree: Path) -> None:
    assert load_lab(write(lab_tree, GOOD), lab_tree).host_stacks is False
    lab = load_lab(write(lab_tree, "host_stacks = true\n" + GOOD), lab_tree)
    assert lab.host_stacks is True
    assert lab.with_program(lab.program).host_stacks is True  # --p4 keeps it
    assert "host_stacks" in error_of(lab_tree, 'host_stacks = "yes"\n' + GOOD)
