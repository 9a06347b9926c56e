"""Mutants as named edits of a lab's solution."""

from __future__ import annotations

from pathlib import Path

import pytest

from labtool.errors import ManifestError
from labtool.manifest import find_lab, lab_names
from labtool.mutants import Edit, Mutant, StaleMutant, load_mutants, materialize, to_toml

SOLUTION = "a = 1;\nb = 2;\nif (x > 3) { y(); }\n"


def test_edits_apply_in_order() -> None:
    m = Mutant("m", "w", (Edit("a = 1;", "a = 2;"), Edit("a = 2;\nb", "a = 3;\nb")))
    assert m.apply(SOLUTION) == "a = 3;\nb = 2;\nif (x > 3) { y(); }\n"


@pytest.mark.parametrize("find, words", [("c = 3;", "is not in"), ("= ", "occurs 2 times in")])
def test_stale_edit_names_mutant_and_edit(find: str, words: str) -> None:
    m = Mutant("gone", "w", (Edit("a = 1;", "a = 0;"), Edit(find, "")))
    with pytest.raises(StaleMutant) as exc:
        m.apply(SOLUTION)
    assert f"mutant gone: edit 2 of 2: its text {words} the solution" in str(exc.value)


def test_round_trip_through_the_file_format(tmp_path: Path) -> None:
    mutants = [Mutant("gt_to_ge", "off by one", (Edit("x > 3", "x >= 3"),)),
               Mutant("multi", "quotes ' and \"", (Edit("b = 2;\nif", "b = '2';\nif"),)),
               Mutant("removed", "no y()", (Edit("{ y(); }\n", ""),))]
    path = tmp_path / "lab.toml"
    path.write_text(to_toml(mutants, "lab.p4"))
    assert load_mutants(path) == mutants
    for m in mutants:
        m.apply(SOLUTION)


def test_alternatives_are_listed_apart(tmp_path: Path) -> None:
    path = tmp_path / "lab.toml"
    path.write_text(to_toml([Mutant("bug", "w", (Edit("a", "b"),))], "x.p4")
                    + to_toml([Mutant("other_names", "same behaviour", (Edit("y()", "z()"),))],
                              "x.p4", "alternative"))
    assert [m.name for m in load_mutants(path)] == ["bug"]
    assert [m.name for m in load_mutants(path, "alternative")] == ["other_names"]


@pytest.mark.parametrize("text, message", [
    ('[[mutant]]\nname = "Bad Name"\nwrong = "w"\n[[mutant.edit]]\nfind = "a"\nreplace = "b"\n',
     "name must be lowercase"),
    ('[[mutant]]\nname = "m"\nwrong = "w"\n', "at least one [[mutant.edit]]"),
    ('[[mutant]]\nname = "m"\nwrong = "w"\n[[mutant.edit]]\nfind = ""\nreplace = "b"\n',
     "needs exactly find"),
    ('[[mutants]]\nname = "m"\n', "did you mean 'mutant'?"),
    ('[[mutant]]\nname = "m"\nwrong = "w"\n[[mutant.edit]]\nfind = "a"\nreplace = "b"\n'
     '[[mutant]]\nname = "m"\nwrong = "w"\n[[mutant.edit]]\nfind = "a"\nreplace = "b"\n',
     "used twice"),
])
def test_bad_files_are_reported(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "lab.toml"
    path.write_text(text)
    with pytest.raises(ManifestError) as exc:
        load_mutants(path)
    assert message in str(exc.value) and str(path) in str(exc.value)


def test_materialized_program_has_a_header_and_is_stable(tmp_path: Path) -> None:
    sol = tmp_path / "lab.p4"
    sol.write_text(SOLUTION)
    m = Mutant("gt_to_ge", "off by one", (Edit("x > 3", "x >= 3"),))
    first = materialize(m, sol, tmp_path / "out")
    assert first == materialize(m, sol, tmp_path / "out")
    text = first.read_text()
    assert text.startswith("// MUTANT gt_to_ge of lab.p4: off by one\n")
    assert "x >= 3" in text


def test_every_shipped_mutant_and_alternative_applies(repo_root: Path) -> None:
    """A change to a solution that leaves an edit behind fails here, before any e2e run."""
    for name in lab_names(repo_root):
        lab = find_lab(repo_root, name)
        solution = lab.program.read_text()
        for m in lab.mutants() + lab.alternatives():
            assert m.apply(solution) != solution, f"{name}: {m.name} changes nothing"


def test_run_dirs_of_simultaneous_runs_are_distinct(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from labtool.workspace import Workspace

    ws = Workspace(tmp_path)
    with ThreadPoolExecutor(8) as pool:  # fewer than KEEP_RUNS: none is pruned
        dirs = list(pool.map(lambda _: ws.new_run_dir("lab"), range(20)))
    assert len(set(dirs)) == 20 and all(d.is_dir() for d in dirs)
    assert (ws.runs_dir / "lab-latest").is_symlink()
