"""labtool mutate without a network: folding by normalised BMv2 JSON, sampling,
equivalents, the report of a survivor, and --promote / --equivalent writing the
lab's mutants file."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from labtool.cli import main
from labtool.errors import ManifestError
from labtool.manifest import find_lab
from labtool.mutants import Edit, load_equivalents, load_mutants
from labtool.mutate import (
    EQUIVALENT,
    KILLED,
    NOT_RUN,
    PENDING,
    SURVIVED,
    Analysis,
    Outcome,
    is_listed,
    normalised_digest,
    sample,
)
from labtool.mutgen import generate
from labtool.mutreport import report_lines, to_dict


@pytest.fixture
def repeater_copy(repo_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The repeater lab in a repository of its own (its mutants file gets written)."""
    for rel in ("topologies/repeater.toml", "p4src/repeater.p4", "p4src/mutants/repeater.toml",
                "controllers/repeater.py", "verifiers/repeater.py"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(repo_root / rel, tmp_path / rel)
    monkeypatch.setenv("LABTOOL_HOME", str(tmp_path))
    return tmp_path


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(args)
    out, err = capsys.readouterr()
    return (exc.value.code if isinstance(exc.value.code, int) else 1), out, err


def test_source_locations_do_not_count(tmp_path: Path) -> None:
    info = tmp_path / "p.p4info.txtpb"
    info.write_text("pkg_info {}\n")
    one, two = tmp_path / "a.json", tmp_path / "b.json"
    one.write_text(json.dumps({"program": "./a.p4", "actions": [
        {"name": "drop", "source_info": {"line": 3, "filename": "a.p4"}}]}))
    two.write_text(json.dumps({"program": "./b.p4", "actions": [
        {"name": "drop", "source_info": {"line": 9, "filename": "b.p4"}}]}))
    assert normalised_digest(one, info) == normalised_digest(two, info)
    two.write_text(json.dumps({"program": "./b.p4", "actions": [{"name": "fwd"}]}))
    assert normalised_digest(one, info) != normalised_digest(two, info)


def test_names_p4c_makes_from_file_and_line_do_not_count(tmp_path: Path) -> None:
    """p4c names the action and table of straight-line code `<file stem><line>`."""
    info = tmp_path / "p.p4info.txtpb"
    info.write_text("")

    def pipeline(stem: str, line: int) -> dict[str, object]:
        return {"program": f"/x/{stem}.p4", "actions": [{"name": f"{stem.replace('-', '')}{line}"}],
                "pipelines": [{"tables": [{"name": f"tbl_{stem.replace('-', '')}{line}",
                                           "actions": [f"{stem.replace('-', '')}{line}"]}]}]}

    one, two = tmp_path / "a.json", tmp_path / "b.json"
    one.write_text(json.dumps(pipeline("hh-v1", 135)))
    two.write_text(json.dumps(pipeline("gen_48637369-0a1b2c", 136)))
    assert normalised_digest(one, info) == normalised_digest(two, info)


def _outcomes(n: int) -> list[Outcome]:
    gens = generate((Path(__file__).parents[2] / "p4src" / "hh-v1.p4").read_text())[:n]
    return [Outcome(g) for g in gens]


def test_sample_is_deterministic_per_seed() -> None:
    first, again, other = _outcomes(30), _outcomes(30), _outcomes(30)
    assert sample(first, 10, 7) == 10 and sample(again, 10, 7) == 10
    assert [o.status for o in first] == [o.status for o in again]
    assert sum(o.status == PENDING for o in first) == 10
    assert sum(o.status == NOT_RUN for o in first) == 20
    sample(other, 10, 8)
    assert [o.status for o in first] != [o.status for o in other]
    assert sample(_outcomes(5), 10, 7) is None


def test_equivalents_file_format(tmp_path: Path) -> None:
    path = tmp_path / "lab.toml"
    path.write_text('[[equivalent]]\nid = "48637369"\nreason = "any hash"\n'
                    'find = "crc32"\nreplace = "crc16"\n')
    eqs = load_equivalents(path)
    assert eqs[0].id == "48637369" and eqs[0].edit == Edit("crc32", "crc16")
    assert load_mutants(path) == []  # the mutants of a file with equivalents still load
    path.write_text('[[equivalent]]\nid = "48637369"\n')
    with pytest.raises(ManifestError, match="reason"):
        load_equivalents(path)
    path.write_text('[[equivalent]]\nid = "xyz"\nreason = "r"\n')
    with pytest.raises(ManifestError, match="hex id"):
        load_equivalents(path)


def test_report_shows_a_survivor_with_its_diff() -> None:
    outcomes = _outcomes(3)
    outcomes[0].status, outcomes[0].detail = SURVIVED, "9 checks passed"
    outcomes[1].status, outcomes[1].by = KILLED, "exact counts"
    outcomes[2].status, outcomes[2].detail = EQUIVALENT, "the spec allows it"
    analysis = Analysis("hh-v1", "p4src/hh-v1.p4", 5, outcomes)
    text = "\n".join(report_lines(analysis))
    g = outcomes[0].gen
    assert f"{g.id}  {g.operator}  line {g.line}: {g.what}" in text
    assert g.diff()[0] in text and g.diff()[1] in text
    assert "mutation score 50.0 %" in text
    assert to_dict(analysis)["counts"]["equivalent"] == 1


def test_listed_by_id_prefix_or_edit() -> None:
    from labtool.mutants import Equivalent

    g = _outcomes(1)[0].gen
    assert is_listed(g, [Equivalent(g.id, "r")]) is not None
    assert is_listed(g, [Equivalent("00000000", "r", g.edit)]) is not None
    assert is_listed(g, [Equivalent("00000000", "r")]) is None


def test_list_promote_and_equivalent(repeater_copy: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["mutate", "repeater", "--list", "--operator", "delete"], capsys)
    assert code == 0
    ids = [line.split()[0] for line in out.splitlines()[:-1]]
    emit = next(line.split()[0] for line in out.splitlines() if "emit removed" in line)
    lab = find_lab(repeater_copy, "repeater")
    before = [m.name for m in lab.mutants()]

    code, out, _ = run_cli(["mutate", "repeater", emit[:6], "--promote", "--name", "no_emit"],
                           capsys)
    assert code == 0 and "added [[mutant]] no_emit" in out
    mutants = lab.mutants()
    assert [m.name for m in mutants] == before + ["no_emit"]
    assert "packet.emit" not in mutants[-1].apply(lab.program.read_text())
    code, _, err = run_cli(["mutate", "repeater", emit, "--promote"], capsys)
    assert code == 2 and "is this edit already" in err

    listed = [e.id for e in load_equivalents(lab.mutants_file)]
    other = next(i for i in ids if i != emit and i not in listed)
    code, out, _ = run_cli(["mutate", "repeater", other, "--equivalent", "allowed because"],
                           capsys)
    assert code == 0
    eqs = load_equivalents(lab.mutants_file)
    assert [e.id for e in eqs] == listed + [other] and eqs[-1].reason == "allowed because"
    code, _, err = run_cli(["mutate", "repeater", other, "--equivalent", "again"], capsys)
    assert code == 2 and "listed as equivalent already" in err
    assert "# Mutants of repeater.p4" in lab.mutants_file.read_text()  # comments kept


def test_unknown_id_and_operator(repeater_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(["mutate", "repeater", "ffffffff", "--list"], capsys)
    assert code == 2 and "no generated mutant 'ffffffff'" in err
    code, _, err = run_cli(["mutate", "repeater", "--operator", "bogus", "--list"], capsys)
    assert code == 2 and "no operator 'bogus'" in err


def test_every_listed_equivalent_is_still_generated(repo_root: Path) -> None:
    """A change to a solution that leaves an equivalent's mutant behind fails here."""
    from labtool.manifest import lab_names
    from labtool.mutate import stale_equivalents

    for name in lab_names(repo_root):
        lab = find_lab(repo_root, name)
        eqs = load_equivalents(lab.mutants_file)
        assert stale_equivalents(generate(lab.program.read_text()), eqs) == [], name
