"""Characters to tokens, one token at a time, so that the first error in reading order wins."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import Enum

from earnest.contract.condition.base import (
    KEYWORDS,
    MAX_NAME_CHARS,
    MAX_NUMBER_CHARS,
    MAX_STRING_CHARS,
    Value,
)
from earnest.contract.condition.errors import ConditionError
from earnest.contract.condition.render import number_text

NAME_START = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_")
NAME_CHARS = NAME_START | frozenset("0123456789")
DIGITS = frozenset("0123456789")  # not str.isdigit(), which accepts "²" and "٣"
SPACE = frozenset(" \t\r\n")
ESCAPES = frozenset("\\\"'")


class Kind(Enum):
    NAME = "name"
    LITERAL = "literal"
    AND = "AND"
    OR = "OR"
    NOT = "NOT"
    IN = "IN"
    COMPARE = "comparison"
    LPAREN = "("
    RPAREN = ")"
    LBRACKET = "["
    RBRACKET = "]"
    COMMA = ","
    END = "end"


# Longest first: "==" before "=", ">=" before ">".
SYMBOLS: tuple[tuple[str, Kind, str], ...] = (
    ("==", Kind.COMPARE, "=="),
    ("!=", Kind.COMPARE, "!="),
    (">=", Kind.COMPARE, ">="),
    ("<=", Kind.COMPARE, "<="),
    ("&&", Kind.AND, "AND"),
    ("||", Kind.OR, "OR"),
    ("=", Kind.COMPARE, "=="),
    (">", Kind.COMPARE, ">"),
    ("<", Kind.COMPARE, "<"),
    ("!", Kind.NOT, "NOT"),
    ("(", Kind.LPAREN, "("),
    (")", Kind.RPAREN, ")"),
    ("[", Kind.LBRACKET, "["),
    ("]", Kind.RBRACKET, "]"),
    (",", Kind.COMMA, ","),
)


@dataclass(frozen=True, slots=True)
class Token:
    kind: Kind
    text: str  # as written
    offset: int
    op: str = ""  # the canonical operator, for COMPARE
    value: Value | None = None  # for LITERAL

    def describe(self) -> str:
        if self.kind is Kind.END:
            return "the end of the expression"
        if self.kind is Kind.LITERAL and isinstance(self.value, str):
            return "a string"
        return f'"{self.text}"'


class Lexer:
    def __init__(self, source: str, item: int | None) -> None:
        self.source = source
        self.item = item
        self.pos = 0
        self.last_end = 0  # the end of the previous token: where "the end" is reported

    def error(self, offset: int, message: str) -> ConditionError:
        return ConditionError.at(self.source, offset, message, self.item)

    def next(self) -> Token:
        src = self.source
        while self.pos < len(src) and src[self.pos] in SPACE:
            self.pos += 1
        start = self.pos
        if start >= len(src):
            return Token(Kind.END, "", self.last_end)
        ch = src[start]
        if ch in NAME_START:
            token = self._word(start)
        elif ch in DIGITS or (ch == "-" and src[start + 1 : start + 2] in DIGITS):
            token = self._number(start)
        elif ch in "\"'":
            token = self._string(start)
        else:
            token = self._symbol(start)
        self.pos = self.last_end = start + len(token.text)
        return token

    def _word(self, start: int) -> Token:
        end = start
        while end < len(self.source) and self.source[end] in NAME_CHARS:
            end += 1
        word = self.source[start:end]
        upper = word.upper()
        if upper in {"TRUE", "FALSE"}:
            return Token(Kind.LITERAL, word, start, value=upper == "TRUE")
        if upper in KEYWORDS:
            return Token(Kind[upper], word, start)
        if len(word) > MAX_NAME_CHARS:
            raise self.error(
                start, f"name has {len(word)} characters; at most {MAX_NAME_CHARS} are allowed"
            )
        return Token(Kind.NAME, word, start)

    def _number(self, start: int) -> Token:
        src = self.source
        end = start + 1
        while end < len(src) and src[end] in DIGITS:
            end += 1
        if end < len(src) and src[end] == ".":
            if src[end + 1 : end + 2] not in DIGITS:
                raise self.error(end, 'expected a digit after "." in a number')
            end += 1
            while end < len(src) and src[end] in DIGITS:
                end += 1
        text = src[start:end]
        if len(text) > MAX_NUMBER_CHARS:
            raise self.error(
                start, f"number has {len(text)} characters; at most {MAX_NUMBER_CHARS} are allowed"
            )
        # Exact, never via float; stored as written in canonical form (4.0 → 4) so the tree,
        # its text and its JSON agree.
        return Token(Kind.LITERAL, text, start, value=Decimal(number_text(Decimal(text))))

    def _string(self, start: int) -> Token:
        src = self.source
        quote = src[start]
        chars: list[str] = []
        end = start + 1
        while True:
            if end >= len(src) or src[end] in "\r\n":
                raise self.error(start, f"unterminated string: no closing {quote} on this line")
            ch = src[end]
            if ch == quote:
                break
            if ch == "\\":
                escaped = src[end + 1 : end + 2]
                if escaped in ("", "\r", "\n"):
                    raise self.error(start, f"unterminated string: no closing {quote} on this line")
                if escaped not in ESCAPES:
                    shown = f'"\\{escaped}"' if escaped.isprintable() else _shown(escaped)
                    raise self.error(
                        end,
                        f"unknown escape {shown}: only \\\\, \\\" and \\' are allowed in a string",
                    )
                chars.append(escaped)
                end += 2
                continue
            chars.append(ch)
            end += 1
        value = "".join(chars)
        if len(value) > MAX_STRING_CHARS:
            raise self.error(
                start,
                f"string has {len(value)} characters; at most {MAX_STRING_CHARS} are allowed",
            )
        return Token(Kind.LITERAL, src[start : end + 1], start, value=value)

    def _symbol(self, start: int) -> Token:
        src = self.source
        for text, kind, op in SYMBOLS:
            if src.startswith(text, start):
                return Token(kind, text, start, op=op)
        ch = src[start]
        if ch == "-":
            raise self.error(start, 'expected a digit after "-" (a negative number is -3)')
        hint = ""
        if ch in "&|":
            hint = f' (did you mean "{ch * 2}"?)'
        elif ch.isalpha() or ch.isdigit():
            hint = " (names use only the letters A-Z and a-z, digits and _)"
        raise self.error(start, f"unexpected character {_shown(ch)}{hint}")


def _shown(ch: str) -> str:
    return f'"{ch}"' if ch.isprintable() else f"U+{ord(ch):04X}"
