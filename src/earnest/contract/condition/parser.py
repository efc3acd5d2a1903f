"""Tokens to a tree: a hand-written recursive-descent parser (docs/decisions/0002).

    expr    := or
    or      := and (("OR" | "||") and)*
    and     := not (("AND" | "&&") not)*
    not     := ("NOT" | "!") not | compare
    compare := atom (("==" | "=" | "!=" | ">" | ">=" | "<" | "<=") atom)?
             | atom "IN" "[" literal ("," literal)* "]"
    atom    := name | literal | "(" expr ")"

Only parentheses recurse, and they are bounded by MAX_DEPTH as they open, so no input can
exhaust Python's stack. Every other bound is checked on the finished tree (``bounded``).
"""

from __future__ import annotations

from collections.abc import Sequence

from earnest.contract.condition.base import MAX_DEPTH, MAX_NODES
from earnest.contract.condition.errors import ConditionError
from earnest.contract.condition.lexer import Kind, Lexer, Token
from earnest.contract.condition.tree import (
    And,
    Compare,
    In,
    Literal,
    Name,
    Node,
    Not,
    Or,
    conjunction,
)

OPERAND = 'expected a name, a literal or "("'


class Parser:
    def __init__(self, source: str, index: int, item: int | None) -> None:
        self.lexer = Lexer(source, item)
        self.index = index  # the item's index in the list (0 for a single expression)
        self.token = self.lexer.next()
        self.start = self.token.offset  # the item's first token
        self.parens = 0

    def error(self, token: Token, message: str) -> ConditionError:
        return self.lexer.error(token.offset, message)

    def at(self, kind: Kind) -> bool:
        return self.token.kind is kind

    def advance(self) -> Token:
        token = self.token
        self.token = self.lexer.next()
        return token

    def parse(self) -> Node:
        if self.at(Kind.END):
            raise self.error(self.token, "the expression is empty")
        node = self.parse_or()
        if self.at(Kind.RPAREN):
            raise self.error(self.token, 'unmatched ")"')
        if not self.at(Kind.END):
            raise self.unexpected_after_operand("the end of the expression")
        return node

    def unexpected_after_operand(self, expected_end: str) -> ConditionError:
        if self.token.kind in (Kind.COMPARE, Kind.IN):
            return self.error(self.token, "comparisons cannot be chained; use AND or parentheses")
        return self.error(
            self.token, f"expected an operator or {expected_end} but found {self.token.describe()}"
        )

    def parse_or(self) -> Node:
        first = self.parse_and()
        items = [first]
        while self.at(Kind.OR):
            self.advance()
            items.append(self.parse_and())
        return first if len(items) == 1 else Or(first.loc, items)

    def parse_and(self) -> Node:
        first = self.parse_not()
        items = [first]
        while self.at(Kind.AND):
            self.advance()
            items.append(self.parse_not())
        return conjunction(items)

    def parse_not(self) -> Node:
        nots: list[Token] = []
        while self.at(Kind.NOT):  # a loop, not recursion: NOT chains are unbounded
            nots.append(self.advance())
        node = self.parse_compare()
        for token in reversed(nots):
            node = Not(self.loc(token), node)
        return node

    def parse_compare(self) -> Node:
        left = self.parse_atom()
        if self.at(Kind.COMPARE):
            op = self.advance().op
            return Compare(left.loc, op, left, self.parse_atom())
        if self.at(Kind.IN):
            self.advance()
            return In(left.loc, left, self.parse_list())
        return left

    def parse_list(self) -> list[Literal]:
        if not self.at(Kind.LBRACKET):
            raise self.error(self.token, f'expected "[" after IN but found {self.token.describe()}')
        opening = self.advance()
        options: list[Literal] = []
        while True:
            token = self.token
            if token.kind is not Kind.LITERAL:
                raise (
                    self.unclosed(opening)
                    if token.kind is Kind.END
                    else self.error(
                        token,
                        "expected a literal (a number, a string, true or false) "
                        f"but found {token.describe()}",
                    )
                )
            assert token.value is not None
            options.append(Literal(self.loc(self.advance()), token.value))
            if self.at(Kind.RBRACKET):
                self.advance()
                return options
            if self.at(Kind.END):
                raise self.unclosed(opening)
            if not self.at(Kind.COMMA):
                raise self.error(
                    self.token, f'expected "," or "]" but found {self.token.describe()}'
                )
            self.advance()

    def parse_atom(self) -> Node:
        token = self.token
        if token.kind is Kind.NAME:
            self.advance()
            return Name(self.loc(token), token.text)
        if token.kind is Kind.LITERAL:
            self.advance()
            assert token.value is not None
            return Literal(self.loc(token), token.value)
        if token.kind is Kind.LPAREN:
            return self.parse_group()
        if token.kind in (Kind.AND, Kind.OR, Kind.IN):
            raise self.error(
                token,
                f"{OPERAND} but found {token.describe()}, "
                "a reserved word that cannot be a signal name",
            )
        raise self.error(token, f"{OPERAND} but found {token.describe()}")

    def parse_group(self) -> Node:
        opening = self.advance()
        self.parens += 1
        if self.parens > MAX_DEPTH:
            raise self.error(
                opening, f"parentheses nest {self.parens} deep; at most {MAX_DEPTH} are allowed"
            )
        node = self.parse_or()
        if self.at(Kind.END):
            raise self.unclosed(opening)
        if not self.at(Kind.RPAREN):
            raise self.unexpected_after_operand('")"')
        self.advance()
        self.parens -= 1
        return node

    def unclosed(self, opening: Token) -> ConditionError:
        return self.error(opening, f'this "{opening.text}" is never closed')

    def loc(self, token: Token) -> tuple[int, int]:
        return (self.index, token.offset)


def parse(sources: Sequence[str], listed: bool) -> Node:
    """The AND of every source's tree, within the bounds. ``listed``: errors carry the item."""
    items: list[Node] = []
    starts: list[int] = []
    for index, text in enumerate(sources):  # one at a time: the first error in the list wins
        parser = Parser(text, index, index if listed else None)
        items.append(parser.parse())
        starts.append(parser.start)
    root = conjunction(items)
    bounded(root, items, starts, sources, listed)
    return root


def bounded(
    root: Node, items: Sequence[Node], starts: Sequence[int], sources: Sequence[str], listed: bool
) -> None:
    """Depth errors point at the first of the deepest leaves; size errors at the start of the
    item whose nodes take the running total over the bound."""
    if root.depth > MAX_DEPTH:
        index, offset = root.deep_loc
        raise ConditionError.at(
            sources[index],
            offset,
            f"expression nests {root.depth} deep; at most {MAX_DEPTH} are allowed",
            index if listed else None,
        )
    if root.size > MAX_NODES:
        running = 1 if len(items) > 1 else 0  # the AND that joins the items
        for index, item in enumerate(items):
            running += item.size - (1 if len(items) > 1 and isinstance(item, And) else 0)
            if running > MAX_NODES:
                raise ConditionError.at(
                    sources[index],
                    starts[index],
                    f"expression has {root.size} nodes; at most {MAX_NODES} are allowed",
                    index if listed else None,
                )
        raise AssertionError("the running total must reach the size")  # pragma: no cover
