"""labtool mutate's generator: the P4 lexer, each operator's edit on a small program,
stable ids and edits that apply exactly once."""

from __future__ import annotations

from pathlib import Path

import pytest

from labtool.manifest import find_lab, lab_names
from labtool.mutgen import generate
from labtool.p4lex import tokenize
from labtool.p4scan import scan

P4 = """\
#include <core.p4>
#define SLOTS 7   /* a directive: never mutated */
const bit<16> TYPE_IPV4 = 0x0800;
typedef bit<32> ip4Addr_t;

header ipv4_t {
    bit<8>    ttl;
    bit<8>    protocol;
    ip4Addr_t srcAddr;
    ip4Addr_t dstAddr;
}
struct metadata { bit<32> count; bit<32> limit; }
struct headers { ipv4_t ipv4; }

parser P(packet_in packet, out headers hdr, inout metadata meta,
         inout standard_metadata_t standard_metadata) {
    state start {
        packet.extract(hdr.ipv4);
        transition select(hdr.ipv4.protocol) {
            17: parse_more;
            default: accept;
        }
    }
    state parse_more { transition accept; }
}

control C(inout headers hdr, inout metadata meta,
          inout standard_metadata_t standard_metadata) {
    register<bit<32>>(1024) counts;
    action drop() { mark_to_drop(standard_metadata); }
    action fwd(bit<9> port) { standard_metadata.egress_spec = port; }
    table t {
        key = { hdr.ipv4.dstAddr : lpm; hdr.ipv4.protocol : exact; }
        actions = { fwd; drop; NoAction; }
        size = 64;
        default_action = drop();
    }
    apply {
        // a comment: a < b; x = 1;
        if (meta.count < meta.limit && !hdr.ipv4.isValid()) {
            hash(meta.count, HashAlgorithm.crc32, (bit<32>)0,
                 { hdr.ipv4.srcAddr, hdr.ipv4.dstAddr }, 32w1024);
            counts.write(0, meta.count + 1);
            hdr.ipv4.setValid();
            t.apply();
        }
    }
}

control D(packet_out packet, in headers hdr) {
    apply {
        packet.emit(hdr.ipv4);
    }
}
"""


def mutated(operator: str) -> list[str]:
    """Each mutant of `operator`, as its changed line(s) in the mutated program."""
    return [" ".join(g.after.split()) for g in generate(P4, [operator])]


def whats(operator: str) -> list[str]:
    return [g.what for g in generate(P4, [operator])]


def test_lexer_skips_comments_strings_and_directives() -> None:
    toks = tokenize('#define X 1 \\\n  + 2\n/* a < b */ x = "s < t"; // y < z\nbit<8> w;')
    assert [t.text for t in toks] == ["x", "=", '"s < t"', ";", "bit", "<", "8", ">", "w", ";"]
    assert [t.line for t in toks][:1] == [3]
    assert toks[2].kind == "string"


def test_lexer_tells_type_arguments_from_comparisons() -> None:
    toks = tokenize("register<bit<32>>(8) r; x = a >> 2; y = p.lookahead<bit<16>>(); z = a < b;")
    kinds = [(t.text, t.kind) for t in toks if t.text in ("<", ">", ">>")]
    assert kinds == [("<", "tyopen"), ("<", "tyopen"), (">", "tyclose"), (">", "tyclose"),
                     (">>", "op"), ("<", "tyopen"), ("<", "tyopen"), (">", "tyclose"),
                     (">", "tyclose"), ("<", "op")]


def test_scan_finds_types_parameters_and_statements() -> None:
    s = scan(P4)
    assert s.canonical("ip4Addr_t") == "bit<32>"
    assert s.var_types["hdr"] == "headers" and s.var_types["meta"] == "metadata"
    assert s.siblings("ipv4_t", "srcAddr") == ["dstAddr"]
    assert s.siblings("standard_metadata_t", "egress_spec") == ["ingress_port", "egress_port"]
    kinds = {b.kind for b in s.blocks}
    assert {"control", "parser", "action", "state", "table", "key", "actions", "select",
            "fields", "code"} <= kinds
    stmts = [" ".join(s.text(st.start, st.end).split()) for st in s.statements]
    assert "counts.write(0, meta.count + 1);" in stmts and "t.apply();" in stmts
    assert not any("a < b" in st or "fwd;" in st for st in stmts)


def test_relational() -> None:
    assert "if (meta.count <= meta.limit && !hdr.ipv4.isValid()) {" in mutated("relational")
    assert "if (meta.count >= meta.limit && !hdr.ipv4.isValid()) {" in mutated("relational")
    assert len(mutated("relational")) == 2  # the comment's `<` and the types' <> are not touched


def test_arithmetic_only_binary() -> None:
    assert mutated("arithmetic") == ["counts.write(0, meta.count - 1);"]


def test_logical() -> None:
    assert mutated("logical") == ["if (meta.count < meta.limit || !hdr.ipv4.isValid()) {",
                                  "if (meta.count < meta.limit && hdr.ipv4.isValid()) {"]


def test_constants_keep_their_form_and_skip_sizes_types_and_directives() -> None:
    got = mutated("constant")
    assert "const bit<16> TYPE_IPV4 = 0x07ff;" in got and "const bit<16> TYPE_IPV4 = 0x0801;" in got
    assert "{ hdr.ipv4.srcAddr, hdr.ipv4.dstAddr }, 32w1025);" in got
    assert "16: parse_more;" in got and "register<bit<32>>(1023) counts;" in got
    assert "counts.write(1, meta.count + 1);" in got  # 0 only goes up
    assert not any("size = 6" in g or "SLOTS" in g or "bit<31>" in g for g in got)


def test_width_narrows_but_not_in_headers() -> None:
    got = mutated("width")
    assert "typedef bit<16> ip4Addr_t;" in got  # halved from 8 bits up
    assert "struct metadata { bit<16> count; bit<32> limit; }" in got
    assert "action fwd(bit<4> port) { standard_metadata.egress_spec = port; }" in got
    assert not any("ttl" in g or "protocol" in g for g in got)  # a header's layout stays


@pytest.mark.parametrize("removed", [
    "packet.extract(hdr.ipv4);", "mark_to_drop(standard_metadata);",
    "standard_metadata.egress_spec = port;", "counts.write(0, meta.count + 1);",
    "hdr.ipv4.setValid();", "t.apply();", "packet.emit(hdr.ipv4);"])
def test_delete_removes_the_statement(removed: str) -> None:
    gens = [g for g in generate(P4, ["delete"]) if removed in " ".join(g.before.split())]
    assert len(gens) == 1
    program = gens[0].mutant().apply(P4)
    assert removed not in program
    assert program.count("\n") <= P4.count("\n")


def test_delete_kinds_are_named() -> None:
    kinds = {w.split(" removed")[0] for w in whats("delete")}
    assert {"extract", "mark_to_drop", "assignment", "register write", "setValid", "apply",
            "emit", "hash"} <= kinds


def test_negate() -> None:
    assert mutated("negate") == ["if (!(meta.count < meta.limit && !hdr.ipv4.isValid())) {"]


def test_field_swaps_same_type_siblings() -> None:
    got = mutated("field")
    assert "{ hdr.ipv4.dstAddr, hdr.ipv4.dstAddr }, 32w1024);" in got
    assert "action fwd(bit<9> port) { standard_metadata.ingress_port = port; }" in got
    assert "if (meta.limit < meta.limit && !hdr.ipv4.isValid()) {" in got
    assert "key = { hdr.ipv4.srcAddr : lpm; hdr.ipv4.protocol : exact; }" in got
    assert "transition select(hdr.ipv4.ttl) {" in got  # bit<8> like protocol
    assert not any("ip4Addr_t dstAddr" in g and "srcAddr" not in g for g in got)


def test_hash_algorithm_and_input() -> None:
    assert mutated("hash") == ["hash(meta.count, HashAlgorithm.crc16, (bit<32>)0,"]
    assert mutated("hash-input") == ["{ hdr.ipv4.dstAddr }, 32w1024);",
                                     "{ hdr.ipv4.srcAddr }, 32w1024);"]


def test_key_match_kind_and_field_removed() -> None:
    got = mutated("key")
    assert "key = { hdr.ipv4.dstAddr : exact; hdr.ipv4.protocol : exact; }" in got
    assert "key = { hdr.ipv4.dstAddr : ternary; hdr.ipv4.protocol : exact; }" in got
    assert "key = { hdr.ipv4.dstAddr : lpm; hdr.ipv4.protocol : ternary; }" in got
    assert "key = { hdr.ipv4.protocol : exact; }" in got
    assert "key = { hdr.ipv4.dstAddr : lpm; }" in got


def test_default_action_to_another_without_parameters() -> None:
    assert mutated("default-action") == ["default_action = NoAction();"]


def test_transition_to_accept() -> None:
    assert mutated("transition") == ["17: accept;"]


def test_ids_are_stable_unique_and_edits_apply_once() -> None:
    first, again = generate(P4), generate(P4)
    assert [g.id for g in first] == [g.id for g in again]
    assert len({g.id for g in first}) == len(first)
    texts = set()
    for g in first:
        assert P4.count(g.edit.find) == 1
        texts.add(g.mutant().apply(P4))
    assert len(texts) == len(first) and P4 not in texts


def test_an_edit_elsewhere_keeps_other_ids() -> None:
    before = {g.what: g.id for g in generate(P4, ["hash"])}
    edited = P4.replace("size = 64;", "size = 128;")
    after = {g.what: g.id for g in generate(edited, ["hash"])}
    assert before == after


def test_context_grows_until_unique() -> None:
    src = "control C() {\n    apply {\n        x = 1;\n        x = 1;\n        y = 2;\n    }\n}\n"
    gens = generate(src, ["delete"])
    # removing either `x = 1;` gives the same program: kept once
    assert [g.what for g in gens] == ["assignment removed: `x = 1;`", "assignment removed: `y = 2;`"]
    x = gens[0]
    assert src.count(x.edit.find) == 1 and x.edit.find.count("\n") == 2
    assert x.mutant().apply(src).count("x = 1;") == 1


def test_diff_shows_solution_lines() -> None:
    g = next(g for g in generate(P4, ["relational"]))
    line = P4.splitlines().index("        if (meta.count < meta.limit && !hdr.ipv4.isValid()) {") + 1
    assert g.line == line
    assert g.diff()[0].startswith(f"-{line:>5} | ") and g.diff()[1].startswith(f"+{line:>5} | ")


def test_every_lab_generates_applicable_mutants(repo_root: Path) -> None:
    for name in lab_names(repo_root):
        lab = find_lab(repo_root, name)
        src = lab.program.read_text()
        gens = generate(src)
        assert gens, name
        for g in gens:
            assert g.mutant().apply(src) != src


def test_unread_checksum_verification_is_not_mutated() -> None:
    """v1model's verify_checksum only sets checksum_error: if nothing reads it, changes
    inside the call cannot change behaviour."""
    check = ("control V(inout headers hdr, inout metadata meta) {\n    apply {\n"
             "        verify_checksum(hdr.ipv4.isValid(), { hdr.ipv4.srcAddr, hdr.ipv4.dstAddr },\n"
             "                        hdr.ipv4.ttl, HashAlgorithm.csum16);\n    }\n}\n")
    src = P4 + check
    assert not [g for g in generate(src) if g.line > P4.count("\n")]
    reads = src + "control R(inout standard_metadata_t sm) { apply { if (sm.checksum_error == 1) " \
                  "{ mark_to_drop(sm); } } }\n"
    assert any("verify_checksum" in g.what or "left out of verify" in g.what
               for g in generate(reads))
