from __future__ import annotations

from pathlib import Path

import pytest

from labtool import compiler

P4C_STDERR = """\
{path}(7): [--Werror=not-found] error: hdr.ipv4.ttll: no such field
        hdr.ipv4.ttll = hdr.ipv4.ttl - 1;
                 ^^^^
"""


def test_render_diagnostics_points_at_file_line_col(tmp_path: Path) -> None:
    src = tmp_path / "prog.p4"
    lines = ["// l1"] * 6 + ["        hdr.ipv4.ttll = hdr.ipv4.ttl - 1;"]
    src.write_text("\n".join(lines) + "\n")
    out = compiler.render_diagnostics(P4C_STDERR.format(path=src), tmp_path)
    first, source, marker = out.splitlines()[:3]
    assert first == "prog.p4:7:18: [--Werror=not-found] error: hdr.ipv4.ttll: no such field"
    assert source.strip() == "hdr.ipv4.ttll = hdr.ipv4.ttl - 1;"
    assert marker.strip() == "^^^^"


def test_render_keeps_unparsed_lines() -> None:
    assert compiler.render_diagnostics("p4c: fatal thing\n\n", Path("/")) == "p4c: fatal thing"


def test_included_files_follow_quotes_and_angles(tmp_path: Path) -> None:
    inc = tmp_path / "inc"
    inc.mkdir()
    (inc / "arch.p4").write_text("// arch\n")
    (tmp_path / "headers.p4").write_text('#include "more.p4"\n')
    (tmp_path / "more.p4").write_text("// more\n")
    main = tmp_path / "main.p4"
    main.write_text('#include <arch.p4>\n#include "headers.p4"\n#include <missing.p4>\n')
    found = {p.name for p in compiler.included_files(main, [inc])}
    assert found == {"main.p4", "arch.p4", "headers.p4", "more.p4"}


def test_cache_key_changes_with_included_file(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compiler.toolchain, "tool_version", lambda path: "p4c 1.2.3")
    monkeypatch.setattr(compiler.toolchain, "p4include_dirs", lambda: [])
    (tmp_path / "h.p4").write_text("// v1\n")
    main = tmp_path / "main.p4"
    main.write_text('#include "h.p4"\n')
    fake = Path("/bin/true")
    k1 = compiler.cache_key(main, fake)
    assert compiler.cache_key(main, fake) == k1
    (tmp_path / "h.p4").write_text("// v2\n")
    k2 = compiler.cache_key(main, fake)
    assert k2 != k1
    monkeypatch.setattr(compiler.toolchain, "tool_version", lambda path: "p4c 9")
    assert compiler.cache_key(main, fake) != k2
