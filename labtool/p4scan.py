"""Just enough structure of a P4-16 program for mutation operators.

Not a parser: p4c is the judge of what compiles, and a mutant it rejects is
simply discarded. This module finds, over the tokens of p4lex, what the
operators need to make edits that are likely to compile and mean something:
which `{...}` is a block and of what kind (control, action, apply/if body,
table, key, parser state, select, header/struct), the statements of code
blocks, the fields of headers and structs (to swap a field for a sibling of the
same type), typedefs, and the types of control and parser parameters (to know
that `hdr.ipv4.srcAddr` is a field of `ipv4_t`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .p4lex import Token, tokenize

CODE_KINDS = frozenset({"code", "action", "state"})
OPENERS = {"(": ")", "[": "]", "{": "}"}
KEYWORDS = frozenset({
    "if", "else", "return", "exit", "transition", "switch", "const", "typedef", "type", "bit",
    "int", "varbit", "bool", "error", "state", "table", "action", "apply", "key", "actions",
    "default_action", "size", "entries", "control", "parser", "header", "struct", "enum",
    "header_union", "match_kind", "extern", "package", "in", "out", "inout", "true", "false",
    "tuple", "list", "string", "void",
})
DIRECTIONS = frozenset({"in", "out", "inout"})

# v1model's standard_metadata_t is declared in v1model.p4, not in the lab's program:
# the fields a student confuses with each other, in groups of the same width.
STANDARD_METADATA_GROUPS = (
    ("ingress_port", "egress_spec", "egress_port"),
    ("ingress_global_timestamp", "egress_global_timestamp"),
    ("enq_qdepth", "deq_qdepth"),
    ("enq_timestamp", "deq_timedelta"),
    ("mcast_grp", "egress_rid"),
)
STANDARD_METADATA = "standard_metadata_t"


@dataclass
class Block:
    kind: str  # control parser action state code table key actions entries select switch
    #            fields enum other
    open: int  # token index of "{"
    close: int  # token index of the matching "}"
    header: tuple[int, int]  # token range [start, end) of what precedes the "{"
    parent: int  # index in Scan.blocks, -1 at top level
    name: str = ""  # table, action, header/struct type, control name
    keyword: str = ""  # header, struct, header_union for "fields" blocks


@dataclass
class Statement:
    start: int  # first token index of the statement proper (after any `if (...)`/`else`)
    end: int  # token index of its ";"
    block: int


@dataclass
class Scan:
    src: str
    tokens: list[Token]
    match: dict[int, int] = field(default_factory=dict)  # bracket token index -> its partner
    blocks: list[Block] = field(default_factory=list)
    block_of: list[int] = field(default_factory=list)  # innermost block of each token
    annotation: set[int] = field(default_factory=set)  # token indexes inside @annotations
    in_type: set[int] = field(default_factory=set)  # token indexes inside <type arguments>
    typedefs: dict[str, str] = field(default_factory=dict)  # name -> type text
    types: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # fields in order
    header_types: set[str] = field(default_factory=set)
    var_types: dict[str, str] = field(default_factory=dict)  # parameter name -> type text
    actions: dict[str, int] = field(default_factory=dict)  # action name -> parameter count
    statements: list[Statement] = field(default_factory=list)

    def text(self, first: int, last: int) -> str:
        """Source text from token `first` to token `last`, both included."""
        return self.src[self.tokens[first].start:self.tokens[last].end]

    def kind_at(self, i: int) -> str:
        b = self.block_of[i]
        return "top" if b < 0 else self.blocks[b].kind

    def canonical(self, type_text: str) -> str:
        """A type with typedefs resolved: `ip4Addr_t` -> `bit<32>`."""
        seen = set()
        while type_text in self.typedefs and type_text not in seen:
            seen.add(type_text)
            type_text = self.typedefs[type_text]
        return type_text

    def field_type(self, owner: str, name: str) -> str | None:
        owner = self.canonical(owner)
        if owner.endswith("[]"):  # a header stack: next/last are its elements
            return owner[:-2] if name in ("next", "last") else None
        if owner == STANDARD_METADATA:
            return next((f"{STANDARD_METADATA}.{g[0]}" for g in STANDARD_METADATA_GROUPS
                         if name in g), None)
        return next((t for f, t in self.types.get(owner, []) if f == name), None)

    def siblings(self, owner: str, name: str) -> list[str]:
        """Fields of `owner` a student could write instead of `name`: the same type,
        nearest before and after it in declaration order."""
        owner = self.canonical(owner)
        if owner == STANDARD_METADATA:
            group = next((g for g in STANDARD_METADATA_GROUPS if name in g), ())
            return [f for f in group if f != name]
        fields = self.types.get(owner, [])
        names = [f for f, _ in fields]
        if name not in names:
            return []
        mine = self.canonical(fields[names.index(name)][1])
        same = [f for f, t in fields if self.canonical(t) == mine]
        k = same.index(name)
        return [same[j] for j in (k - 1, k + 1) if 0 <= j < len(same)]


def scan(src: str) -> Scan:
    s = Scan(src, tokenize(src))
    _match_brackets(s)
    _mark_annotations_and_types(s)
    _find_blocks(s)
    _declarations(s)
    _statements(s)
    return s


def _match_brackets(s: Scan) -> None:
    stack: list[int] = []
    for i, t in enumerate(s.tokens):
        if t.kind == "tyopen" or (t.kind == "op" and t.text in OPENERS):
            stack.append(i)
        elif (t.kind == "tyclose" or (t.kind == "op" and t.text in (")", "]", "}"))) and stack:
            s.match[stack[-1]] = i
            s.match[i] = stack.pop()


def _mark_annotations_and_types(s: Scan) -> None:
    toks = s.tokens
    for i, t in enumerate(toks):
        if t.is_("@") and i + 1 < len(toks):
            s.annotation.update((i, i + 1))
            if i + 2 < len(toks) and toks[i + 2].is_("(") and i + 2 in s.match:
                s.annotation.update(range(i + 2, s.match[i + 2] + 1))
        elif t.kind == "tyopen" and i in s.match:
            s.in_type.update(range(i, s.match[i] + 1))


def _header_start(s: Scan, i: int) -> int:
    """First token of what precedes token i since the last `;`, `{` or `}` (skipping over
    bracketed groups)."""
    j = i - 1
    while j >= 0:
        t = s.tokens[j]
        if t.kind == "op" and t.text in (";", "{", "}"):
            break
        if (t.kind == "op" and t.text in (")", "]")) or t.kind == "tyclose":
            j = s.match.get(j, j)
        j -= 1
    return j + 1


def _classify(s: Scan, start: int, end: int, parent_kind: str) -> tuple[str, str, str]:
    """(kind, name, keyword) of the block whose header is tokens [start, end)."""
    head = [k for k in range(start, end) if k not in s.annotation]
    words = [s.tokens[k].text for k in head]
    first = words[0] if words else ""
    second = words[1] if len(words) > 1 else ""
    if parent_kind == "switch":
        return "code", "", ""
    if first in ("control", "parser"):
        return first, second, ""
    if first == "action":
        return "action", second, ""
    if first == "state":
        return "state", second, ""
    if first == "table":
        return "table", second, ""
    if first in ("header", "struct", "header_union"):
        return "fields", second, first
    if first in ("enum", "error", "match_kind"):
        return "enum", "", ""
    if first == "switch":
        return "switch", "", ""
    if first == "transition":
        return "select", "", ""
    if first in ("apply", "if", "else") or not words:
        return "code", "", ""
    if words[-1] == "=" and parent_kind == "table":
        prop = words[-2] if len(words) > 1 else ""
        return {"key": "key", "actions": "actions", "entries": "entries"}.get(prop, "other"), "", ""
    if words[-1] == ")" and parent_kind in ("top", "control", "parser"):
        return "code", "", ""  # a function's body
    return "other", "", ""


def _find_blocks(s: Scan) -> None:
    toks = s.tokens
    s.block_of = [-1] * len(toks)
    stack: list[int] = []  # open blocks (indexes into s.blocks)
    parens: list[int] = []  # open ( [ and expression { : a { inside them is an expression
    for i, t in enumerate(toks):
        s.block_of[i] = stack[-1] if stack else -1
        if t.kind != "op":
            continue
        if t.text in ("(", "["):
            parens.append(i)
        elif t.text in (")", "]"):
            if parens:
                parens.pop()
        elif t.text == "{":
            parent_kind = s.blocks[stack[-1]].kind if stack else "top"
            after_eq = i > 0 and toks[i - 1].is_("=")
            if (parens and (not stack or parens[-1] > s.blocks[stack[-1]].open)) or \
                    (after_eq and parent_kind != "table"):
                parens.append(i)  # a list expression ({a, b} of hash, checksum, initialisers)
                continue
            start = _header_start(s, i)
            kind, name, keyword = _classify(s, start, i, parent_kind)
            s.blocks.append(Block(kind, i, s.match.get(i, len(toks) - 1), (start, i),
                                  stack[-1] if stack else -1, name, keyword))
            stack.append(len(s.blocks) - 1)
        elif t.text == "}":
            if parens and toks[parens[-1]].text == "{":
                parens.pop()
            elif stack:
                stack.pop()


def _split(s: Scan, start: int, end: int, sep: str) -> list[tuple[int, int]]:
    """Token ranges [a, b) between `sep` tokens at bracket depth 0 within [start, end)."""
    parts, a, k = [], start, start
    while k < end:
        t = s.tokens[k]
        if (t.kind == "op" and t.text in OPENERS) or t.kind == "tyopen":
            k = s.match.get(k, k)
        elif t.is_(sep):
            parts.append((a, k))
            a = k + 1
        k += 1
    if a < end:
        parts.append((a, end))
    return parts


def _type_and_name(s: Scan, a: int, b: int) -> tuple[str, str] | None:
    """A declaration `[@annot] [dir] TYPE NAME` in tokens [a, b) -> (type text, name)."""
    idx = [k for k in range(a, b) if k not in s.annotation]
    if idx and s.tokens[idx[0]].text in DIRECTIONS:
        idx = idx[1:]
    if len(idx) < 2 or s.tokens[idx[-1]].kind != "ident":
        return None
    type_text = "".join(s.tokens[k].text for k in idx[:-1])
    return type_text, s.tokens[idx[-1]].text


def _declarations(s: Scan) -> None:
    toks = s.tokens
    top = [i for i in range(len(toks)) if s.block_of[i] == -1]
    # typedefs: `typedef TYPE NAME;` at top level
    for i in top:
        if toks[i].is_("typedef", "type"):
            end = next((k for k in range(i, len(toks)) if toks[k].is_(";")), len(toks))
            decl = _type_and_name(s, i + 1, end)
            if decl:
                s.typedefs[decl[1]] = decl[0]
    for b in s.blocks:
        if b.kind == "fields" and b.name:
            fields: list[tuple[str, str]] = []
            for a, e in _split(s, b.open + 1, b.close, ";"):
                stack = [k for k in range(a, e) if toks[k].is_("[")]
                if stack:  # `elem_t[N] name;`: a header stack
                    decl = _type_and_name(s, a, stack[0])
                    name = toks[e - 1].text if e > a else ""
                    if decl:
                        fields.append((name, decl[0] + decl[1] + "[]"))
                    continue
                decl = _type_and_name(s, a, e)
                if decl:
                    fields.append((decl[1], decl[0]))
            s.types[b.name] = fields
            if b.keyword == "header":
                s.header_types.add(b.name)
        if b.kind in ("control", "parser", "action"):
            h0, h1 = b.header
            paren = next((k for k in range(h0, h1) if toks[k].is_("(") and k not in s.annotation),
                         None)
            if paren is None or paren not in s.match:
                if b.kind == "action":
                    s.actions[b.name] = 0
                continue
            params = _split(s, paren + 1, s.match[paren], ",")
            if b.kind == "action":
                s.actions[b.name] = len(params)
                continue
            for a, e in params:
                decl = _type_and_name(s, a, e)
                if decl:
                    s.var_types.setdefault(decl[1], decl[0])


def _statements(s: Scan) -> None:
    toks = s.tokens
    for bi, b in enumerate(s.blocks):
        if b.kind not in CODE_KINDS:
            continue
        start: int | None = None
        k = b.open + 1
        while k < b.close:
            t = toks[k]
            if t.is_("{") and s.block_of[k] == bi and any(c.open == k for c in s.blocks):
                k = s.match.get(k, k) + 1
                start = None
                continue
            if t.is_(";"):
                if start is not None:
                    first = _strip_prefix(s, start, k)
                    if first < k:
                        s.statements.append(Statement(first, k, bi))
                start = None
            elif start is None:
                start = k
            if (t.kind == "op" and t.text in ("(", "[")) or t.kind == "tyopen":
                k = s.match.get(k, k)
            k += 1


def _strip_prefix(s: Scan, a: int, end: int) -> int:
    """Skip `if (...)` and `else` before an unbraced statement."""
    while a < end:
        if s.tokens[a].is_("else"):
            a += 1
        elif s.tokens[a].is_("if") and a + 1 < end and s.tokens[a + 1].is_("("):
            a = s.match.get(a + 1, end) + 1
        else:
            break
    return a
