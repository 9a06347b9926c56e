"""P4-16 tokens with their exact place in the source, for `labtool mutate`.

Mutation operators rewrite the program's text, so every token keeps its byte
offsets. Comments, string literals and preprocessor lines (`#include`,
`#define`, with backslash continuations) never yield tokens: nothing inside
them is ever mutated.

P4 uses `<` `>` both as relational operators and around type arguments
(`bit<32>`, `register<bit<32>>`, `packet.lookahead<bit<16>>()`). A `<` right
after a name that takes type arguments opens a type-argument list; the `>`
that closes it is its own token even where the text reads `>>` or `>=`, so a
relational-operator swap can never touch a type.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Names that take type arguments in P4-16 core and v1model (types, externs, methods).
GENERIC_NAMES = frozenset({
    "bit", "int", "varbit", "tuple", "list", "register", "Register", "counter", "meter",
    "direct_counter", "direct_meter", "value_set", "lookahead", "extract", "emit", "hash",
    "digest", "random", "verify_checksum", "update_checksum",
    "verify_checksum_with_payload", "update_checksum_with_payload", "Checksum16",
})

# Longest first: maximal munch.
OPERATORS = ("&&&", "|+|", "|-|", "<<=", "&&", "||", "==", "!=", "<=", "<<", "++", "..",
             "+=", "-=", "*=", "|=", "&=", "^=", "|", "&", "^", "+", "-", "*", "/", "%", "~",
             "!", "<", "=", "?", ":", ";", ",", ".", "(", ")", "[", "]", "{", "}", "@")
NUMBER = re.compile(
    r"(?:\d+[ws])?(?:0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO][0-7_]+|0[dD][0-9_]+|\d[0-9_]*)")
IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class Token:
    kind: str  # "ident", "number", "op", "string"; "tyopen"/"tyclose" for type-argument <>
    text: str
    start: int
    end: int
    line: int  # 1-based

    def is_(self, *texts: str) -> bool:
        return self.text in texts and self.kind in ("op", "ident", "tyopen", "tyclose")


class LexError(ValueError):
    """The text is not P4 this lexer understands (an unterminated comment or string)."""


def tokenize(src: str) -> list[Token]:
    tokens: list[Token] = []
    i, line, n = 0, 1, len(src)
    type_depth = 0
    at_line_start = True  # only whitespace since the last newline: a `#` starts a directive
    while i < n:
        c = src[i]
        if c == "\n":
            line += 1
            i += 1
            at_line_start = True
            continue
        if c in " \t\r\f\v":
            i += 1
            continue
        if c == "#" and at_line_start:
            while i < n and src[i] != "\n":
                if src[i] == "\\" and i + 1 < n and src[i + 1] == "\n":
                    line += 1
                    i += 1
                i += 1
            continue
        at_line_start = False
        if src.startswith("//", i):
            end = src.find("\n", i)
            i = n if end < 0 else end
            continue
        if src.startswith("/*", i):
            end = src.find("*/", i + 2)
            if end < 0:
                raise LexError(f"line {line}: unterminated /* comment")
            line += src.count("\n", i, end)
            i = end + 2
            continue
        if c == '"':
            j = i + 1
            while j < n and src[j] != '"':
                j += 2 if src[j] == "\\" else 1
            if j >= n:
                raise LexError(f"line {line}: unterminated string")
            tokens.append(Token("string", src[i:j + 1], i, j + 1, line))
            line += src.count("\n", i, j)
            i = j + 1
            continue
        m = IDENT.match(src, i)
        if m and not c.isdigit():
            tokens.append(Token("ident", m.group(), i, m.end(), line))
            i = m.end()
            continue
        m = NUMBER.match(src, i)
        if m:
            tokens.append(Token("number", m.group(), i, m.end(), line))
            i = m.end()
            continue
        if c == ">":
            if type_depth > 0:
                type_depth -= 1
                tokens.append(Token("tyclose", ">", i, i + 1, line))
                i += 1
                continue
            text = next(op for op in (">>=", ">>", ">=", ">") if src.startswith(op, i))
            tokens.append(Token("op", text, i, i + len(text), line))
            i += len(text)
            continue
        if c == "<" and tokens and tokens[-1].kind == "ident" and tokens[-1].text in GENERIC_NAMES \
                and not src.startswith("<=", i) and not src.startswith("<<", i):
            type_depth += 1
            tokens.append(Token("tyopen", "<", i, i + 1, line))
            i += 1
            continue
        op = next((o for o in OPERATORS if src.startswith(o, i)), None)
        if op is None:
            raise LexError(f"line {line}: unexpected character {c!r}")
        tokens.append(Token("op", op, i, i + len(op), line))
        i += len(op)
    return tokens
