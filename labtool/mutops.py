"""Mutation operators for P4-16: each yields small wrong variants of a program as
text replacements (Sites) over the structure found by p4scan.

The operators model the bugs students make in P4, not only the generic ones of
mutation testing: a header never made valid or never emitted, a forgotten
mark_to_drop, register write or checksum update, src/dst or ingress/egress
confused, the wrong hash algorithm or a hash over the wrong fields, a table
keyed or matched the wrong way, a parser that stops early. Every operator
works on the solution's own text, so the edit reads like a student's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from .p4lex import Token
from .p4scan import KEYWORDS, Scan, Statement


@dataclass(frozen=True)
class Site:
    operator: str
    start: int  # source offsets of the replaced text
    end: int
    replacement: str
    what: str  # the change in a few words, e.g. "`<` -> `<=`"


RELATIONAL = {"==": ("!=",), "!=": ("==",), "<": ("<=", ">="), "<=": ("<", ">"),
              ">": (">=", "<="), ">=": (">", "<")}
ARITHMETIC = {"+": ("-",), "-": ("+",), "&": ("|",), "|": ("&",), "^": ("|",), "<<": (">>",),
              ">>": ("<<",), "|+|": ("+",), "|-|": ("-",), "*": ("+",)}
LOGICAL = {"&&": ("||",), "||": ("&&",)}
HASHES = {"crc32": ("crc16",), "crc16": ("crc32",), "crc32_custom": ("crc32",),
          "crc16_custom": ("crc16",), "csum16": ("crc16",), "identity": ("crc32",),
          "xor16": ("crc16",), "random": ("crc32",)}
MATCH_KINDS = {"exact": ("ternary",), "lpm": ("exact", "ternary"), "ternary": ("exact",),
               "range": ("exact",), "optional": ("exact",)}
LIST_CALLS = frozenset({"hash", "verify_checksum", "update_checksum",
                        "verify_checksum_with_payload", "update_checksum_with_payload"})
VALUE_END = ("ident", "number")  # a token after which `-`/`+` is binary


def _tok_site(op: str, t: Token, new: str) -> Site:
    return Site(op, t.start, t.end, new, f"`{t.text}` -> `{new}`")


def _mutable(s: Scan, i: int) -> bool:
    """Tokens operators may rewrite: not in a type, an annotation or a table's size."""
    if i in s.in_type or i in s.annotation:
        return False
    if s.kind_at(i) == "table":
        j = i - 1
        while j >= 0 and not s.tokens[j].is_(";", "{", "}"):
            j -= 1
        if s.tokens[j + 1].is_("size"):
            return False
    return True


def _binary(s: Scan, i: int) -> bool:
    prev = s.tokens[i - 1] if i > 0 else None
    return prev is not None and (prev.kind in VALUE_END or prev.is_(")", "]"))


def relational(s: Scan) -> Iterator[Site]:
    """A comparison off by one or inverted: `<` -> `<=` / `>=`, `==` -> `!=`."""
    for i, t in enumerate(s.tokens):
        if t.kind == "op" and t.text in RELATIONAL and _mutable(s, i):
            for new in RELATIONAL[t.text]:
                yield _tok_site("relational", t, new)


def arithmetic(s: Scan) -> Iterator[Site]:
    """`+` <-> `-`, `&` <-> `|`, `^` -> `|`, shifts reversed, saturating made plain."""
    for i, t in enumerate(s.tokens):
        if t.kind == "op" and t.text in ARITHMETIC and _mutable(s, i) and _binary(s, i) \
                and s.kind_at(i) not in ("entries", "select"):
            for new in ARITHMETIC[t.text]:
                yield _tok_site("arithmetic", t, new)


def logical(s: Scan) -> Iterator[Site]:
    """`&&` <-> `||`, and a `!` dropped."""
    for i, t in enumerate(s.tokens):
        if t.kind != "op" or not _mutable(s, i):
            continue
        if t.text in LOGICAL:
            for new in LOGICAL[t.text]:
                yield _tok_site("logical", t, new)
        elif t.text == "!":
            yield Site("logical", t.start, t.end, "", "`!` removed")


def _number(text: str, delta: int) -> str | None:
    """A P4 integer literal plus delta, written the way the original was (width prefix,
    base, digit count); None below zero."""
    prefix, body = "", text
    for sep in ("w", "s"):
        head, found, tail = text.partition(sep)
        if found and head.isdigit() and not text.lower().startswith("0x"):
            prefix, body = head + sep, tail
            break
    clean = body.replace("_", "")
    base, digits, lead = 10, clean, ""
    if len(clean) > 2 and clean[0] == "0" and clean[1] in "xXbBoOdD":
        lead, digits = clean[:2], clean[2:]
        base = {"x": 16, "b": 2, "o": 8, "d": 10}[clean[1].lower()]
    value = int(digits, base) + delta
    if value < 0:
        return None
    if base == 16:
        out = f"{value:0{len(digits)}x}"
        out = out.upper() if digits.isupper() else out
    elif base == 2:
        out = f"{value:0{len(digits)}b}"
    elif base == 8:
        out = f"{value:0{len(digits)}o}"
    else:
        out = str(value)
    return prefix + lead + out


def constant(s: Scan) -> Iterator[Site]:
    """Integer constants +-1 (0 only +1): port numbers, EtherTypes, thresholds, sizes,
    hash bases and ranges, slice bounds."""
    for i, t in enumerate(s.tokens):
        if t.kind != "number" or not _mutable(s, i):
            continue
        for delta in (-1, 1):
            new = _number(t.text, delta)
            if new is not None:
                yield _tok_site("constant", t, new)


def width(s: Scan) -> Iterator[Site]:
    """`bit<N>` narrowed: halved from 8 bits up, else one bit less (counters that wrap,
    values that no longer fit);
    not in header types, where any change breaks byte alignment and cannot compile."""
    toks = s.tokens
    for i, t in enumerate(toks[:-3]):
        if not (t.is_("bit") and toks[i + 1].kind == "tyopen" and toks[i + 2].kind == "number"
                and toks[i + 3].kind == "tyclose" and toks[i + 2].text.isdigit()):
            continue
        b = s.block_of[i]
        if b >= 0 and s.blocks[b].kind == "fields" and s.blocks[b].keyword == "header":
            continue
        n = int(toks[i + 2].text)
        w = n // 2 if n >= 8 else n - 1  # one variant a site: halved, or a bit less if small
        if w >= 1:
            yield Site("width", toks[i + 2].start, toks[i + 2].end, str(w),
                       f"`bit<{n}>` -> `bit<{w}>`")


def _statement_kind(s: Scan, st: Statement) -> str | None:
    """What a statement does, for the description; None if it is not one to remove
    (declarations, control flow)."""
    toks = s.tokens
    first = toks[st.start]
    if first.kind != "ident" or first.text in KEYWORDS or st.end - st.start < 2:
        return None
    second = toks[st.start + 1]
    if not second.is_(".", "(", "=", "[", "+=", "-=", "|=", "&=", "^=", "*="):
        return None
    text = s.text(st.start, st.end)
    depth, assign = 0, False
    for k in range(st.start, st.end):
        t = toks[k]
        if t.kind == "op" and t.text in ("(", "[", "{"):
            depth += 1
        elif t.kind == "op" and t.text in (")", "]", "}"):
            depth -= 1
        elif depth == 0 and t.is_("=", "+=", "-=", "|=", "&=", "^=", "*="):
            assign = True
    if assign:
        return "assignment"
    for needle, kind in ((".apply(", "apply"), (".setValid(", "setValid"),
                         (".setInvalid(", "setInvalid"), (".emit(", "emit"),
                         (".extract(", "extract"), ("mark_to_drop", "mark_to_drop"),
                         (".write(", "register write"), (".read(", "register read"),
                         ("update_checksum", "checksum update"),
                         ("verify_checksum", "checksum verification"), ("hash(", "hash"),
                         ("clone", "clone"), (".count(", "counter"), ("push_front", "push"),
                         ("pop_front", "pop"), ("digest", "digest")):
        if needle in text:
            return kind
    return "call"


def _line_span(src: str, start: int, end: int) -> tuple[int, int]:
    """[start, end) widened to whole lines when nothing else is on them, so removing a
    statement removes its line rather than leaving an indented blank."""
    ls = src.rfind("\n", 0, start) + 1
    le = src.find("\n", end)
    le = len(src) if le < 0 else le
    if src[ls:start].strip() == "" and src[end:le].strip() == "":
        return ls, min(le + 1, len(src))
    return start, end


def delete(s: Scan) -> Iterator[Site]:
    """A statement removed: an assignment, a table's apply(), setValid/setInvalid, emit,
    extract, mark_to_drop, a register write, a checksum update, a hash or any call."""
    for st in s.statements:
        kind = _statement_kind(s, st)
        if kind is None:
            continue
        a, b = _line_span(s.src, s.tokens[st.start].start, s.tokens[st.end].end)
        shown = " ".join(s.text(st.start, st.end).split())
        shown = shown if len(shown) <= 60 else shown[:57] + "..."
        yield Site("delete", a, b, "", f"{kind} removed: `{shown}`")


def negate(s: Scan) -> Iterator[Site]:
    """An if-condition negated."""
    toks = s.tokens
    for i, t in enumerate(toks[:-1]):
        if t.is_("if") and toks[i + 1].is_("(") and i + 1 in s.match:
            a, b = toks[i + 1], toks[s.match[i + 1]]
            cond = s.src[a.start:b.end]
            shown = " ".join(cond.split())
            shown = shown if len(shown) <= 50 else shown[:47] + "...)"
            yield Site("negate", a.start, b.end, f"(!{cond})", f"condition negated: `{shown}`")


def field_swap(s: Scan) -> Iterator[Site]:
    """A field replaced by a sibling of the same type: src/dst, ingress/egress, one
    metadata counter for another (in code, keys, hash and checksum lists, selects)."""
    toks = s.tokens
    for i, t in enumerate(toks):
        if t.kind != "ident" or (i > 0 and toks[i - 1].is_(".")) or t.text not in s.var_types \
                or not _mutable(s, i) or s.kind_at(i) in ("fields", "top", "control", "parser"):
            continue
        owner = s.var_types[t.text]
        k = i + 1
        while k + 1 < len(toks) and toks[k].is_(".") and toks[k + 1].kind == "ident":
            name_tok = toks[k + 1]
            ftype = s.field_type(owner, name_tok.text)
            if ftype is None:
                break
            for sib in s.siblings(owner, name_tok.text):
                path = s.src[t.start:name_tok.end]
                yield Site("field", name_tok.start, name_tok.end, sib,
                           f"`{path}` -> `{path[:len(path) - len(name_tok.text)]}{sib}`")
            owner = ftype
            k += 2
            if k < len(toks) and toks[k].is_("[") and owner.endswith("[]") and k in s.match:
                owner, k = owner[:-2], s.match[k] + 1


def hash_algorithm(s: Scan) -> Iterator[Site]:
    """Another hash algorithm (crc32 <-> crc16, a checksum's csum16 -> crc16)."""
    toks = s.tokens
    for i, t in enumerate(toks[:-2]):
        if t.is_("HashAlgorithm") and toks[i + 1].is_(".") and toks[i + 2].text in HASHES:
            for new in HASHES[toks[i + 2].text]:
                yield _tok_site("hash", toks[i + 2], new)


def _list_elements(s: Scan, open_i: int) -> list[tuple[int, int]]:
    """Elements [first, last] token indexes of the list expression `{...}` at open_i."""
    close = s.match.get(open_i)
    if close is None:
        return []
    out, a, k = [], open_i + 1, open_i + 1
    while k < close:
        t = s.tokens[k]
        if (t.kind == "op" and t.text in ("(", "[", "{")) or t.kind == "tyopen":
            k = s.match.get(k, k)
        elif t.is_(","):
            if a < k:
                out.append((a, k - 1))
            a = k + 1
        k += 1
    if a < close:
        out.append((a, close - 1))
    return out


def hash_input(s: Scan) -> Iterator[Site]:
    """A field left out of a hash's or a checksum's input list."""
    toks = s.tokens
    for i, t in enumerate(toks[:-1]):
        if not (t.kind == "ident" and t.text in LIST_CALLS and toks[i + 1].is_("(")
                and i + 1 in s.match):
            continue
        close = s.match[i + 1]
        lists = [k for k in range(i + 2, close) if toks[k].is_("{") and k in s.match
                 and s.block_of[k] == s.block_of[i]]
        for open_i in lists[:1]:
            elems = _list_elements(s, open_i)
            if len(elems) < 2:
                continue
            for n, (a, b) in enumerate(elems):
                if n + 1 < len(elems):  # the element, its comma and the space up to the next
                    start, end = toks[a].start, toks[elems[n + 1][0]].start
                else:  # the last: from the end of the one before
                    start, end = toks[elems[n - 1][1]].end, toks[b].end
                yield Site("hash-input", start, end, "",
                           f"`{s.text(a, b)}` left out of {t.text}()'s input")


def key(s: Scan) -> Iterator[Site]:
    """A table's match kind changed, or one of its key fields dropped."""
    toks = s.tokens
    for b in s.blocks:
        if b.kind != "key":
            continue
        entries = []
        a = b.open + 1
        for k in range(b.open + 1, b.close):
            if toks[k].is_(";"):
                entries.append((a, k))
                a = k + 1
        for a, e in entries:
            colon = next((k for k in range(a, e) if toks[k].is_(":") and s.block_of[k] ==
                          s.blocks.index(b)), None)
            if colon is None or colon + 1 >= e:
                continue
            kind_tok = toks[colon + 1]
            for new in MATCH_KINDS.get(kind_tok.text, ()):
                yield Site("key", kind_tok.start, kind_tok.end, new,
                           f"match kind of `{s.text(a, colon - 1)}`: `{kind_tok.text}` -> `{new}`")
            if len(entries) > 1:
                start, end = _line_span(s.src, toks[a].start, toks[e].end)
                yield Site("key", start, end, "", f"key field `{s.text(a, colon - 1)}` removed")


def default_action(s: Scan) -> Iterator[Site]:
    """A table's default action replaced by another of its actions (one without
    parameters, so the edit compiles)."""
    toks = s.tokens
    for bi, b in enumerate(s.blocks):
        if b.kind != "table":
            continue
        listed = [toks[k].text for c in s.blocks if c.kind == "actions" and c.parent == bi
                  for k in range(c.open + 1, c.close)
                  if toks[k].kind == "ident" and k not in s.annotation]
        for k in range(b.open + 1, b.close):
            if not (toks[k].is_("default_action") and s.block_of[k] == bi
                    and toks[k + 1].is_("=") and toks[k + 2].kind == "ident"):
                continue
            end = next(j for j in range(k, b.close + 1) if toks[j].is_(";") or j == b.close)
            current = toks[k + 2].text
            for other in listed:
                if other != current and s.actions.get(other, 0) == 0:
                    yield Site("default-action", toks[k + 2].start, toks[end - 1].end,
                               f"{other}()", f"default action `{current}` -> `{other}`")


def transition(s: Scan) -> Iterator[Site]:
    """A parser state or select case that goes to `accept` instead of parsing on."""
    toks = s.tokens
    for i, t in enumerate(toks[:-2]):
        # `transition next;` or a select case `value: next;`
        goes_on = t.is_("transition") or (t.is_(":") and s.kind_at(i) == "select")
        target = toks[i + 1]
        if goes_on and target.kind == "ident" and toks[i + 2].is_(";") \
                and target.text not in ("accept", "reject"):
            yield Site("transition", target.start, target.end, "accept",
                       f"`{target.text}` -> `accept`")


OPERATORS: dict[str, Callable[[Scan], Iterator[Site]]] = {
    "relational": relational,
    "arithmetic": arithmetic,
    "logical": logical,
    "constant": constant,
    "width": width,
    "delete": delete,
    "negate": negate,
    "field": field_swap,
    "hash": hash_algorithm,
    "hash-input": hash_input,
    "key": key,
    "default-action": default_action,
    "transition": transition,
}


def unread_checksum_checks(s: Scan) -> list[tuple[int, int]]:
    """Source spans of verify_checksum calls whose result nothing reads. v1model only sets
    standard_metadata.checksum_error when a check fails (BMv2 drops nothing), so in a
    program that never reads it, any change inside the call is equivalent by construction."""
    toks = s.tokens
    if any(t.kind == "ident" and t.text == "checksum_error" for t in toks):
        return []
    return [_line_span(s.src, t.start, toks[s.match[i + 1]].end + 1)
            for i, t in enumerate(toks[:-1])
            if t.kind == "ident" and t.text.startswith("verify_checksum")
            and toks[i + 1].is_("(") and i + 1 in s.match]


def sites(s: Scan, operators: list[str] | None = None) -> list[Site]:
    out: list[Site] = []
    for name, op in OPERATORS.items():
        if operators is None or name in operators:
            out.extend(op(s))
    unread = unread_checksum_checks(s)
    return [x for x in out if not any(a <= x.start and x.end <= b for a, b in unread)]
