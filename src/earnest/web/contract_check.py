"""Where a contract's validation errors are in the YAML a person typed: each problem with
its line, its column and the source line with a caret under the spot (SPEC 11), for the
dashboard's editor.

The loader (:mod:`earnest.contract.loader`) places errors about the document itself (not
YAML, a tab, a duplicate key) in the document already; a condition's errors are placed
within its expression. Here the expression is found again in the document (the node YAML
read it from), so the caret points at the document's own line; any other field's error
points at its value (or, for a field that does not exist, at its name).
"""

from __future__ import annotations

from dataclasses import dataclass

import yaml
from yaml.nodes import MappingNode, Node, SequenceNode

from earnest.contract import ContractError, FieldError
from earnest.contract.loader import DOCUMENT, FIELDS

SHOWN_CHARS = 120  # of a long source line, the part around the caret that is shown


@dataclass(frozen=True, slots=True)
class Problem:
    """One error as the editor shows it; ``line`` and ``column`` count from 1 in the
    document (None when it has no place: a required field is missing)."""

    field: str
    message: str
    line: int | None = None
    column: int | None = None
    source: str | None = None  # the source line (or the part of it around the column)
    caret: str | None = None  # spaces, then ``^`` under the column


def problems(text: str, error: ContractError) -> list[Problem]:
    root = _compose(text) if any(e.field != DOCUMENT for e in error.errors) else None
    return [locate(text, root, found) for found in error.errors]


def locate(text: str, root: Node | None, error: FieldError) -> Problem:
    if error.field == DOCUMENT:
        if error.line is None or error.column is None:
            return Problem(error.field, error.message)
        return _at(error, text, error.line, error.column)
    value, key = _nodes(root, error.field)
    if error.line is not None and error.column is not None and error.snippet and value:
        found = _within(text, value, error)
        if found is not None:
            return _at(error, text, *found)
    unknown = error.field.partition("[")[0] not in FIELDS  # point at the name, not its value
    node = key if unknown or value is None else value
    if node is None:
        return Problem(error.field, error.message)
    return _at(error, text, node.start_mark.line + 1, node.start_mark.column + 1)


def _compose(text: str) -> Node | None:
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except (yaml.YAMLError, RecursionError):
        return None


def _nodes(root: Node | None, field: str) -> tuple[Node | None, Node | None]:
    """The value node and the key node of ``field`` (``conditions[2]``: the list's third
    item, and the ``conditions`` key)."""
    name, _, rest = field.partition("[")
    if not isinstance(root, MappingNode):
        return None, None
    for key, value in root.value:
        if key.value != name:
            continue
        if not rest:
            return value, key
        index = rest.rstrip("]")
        if isinstance(value, SequenceNode) and index.isdigit() and int(index) < len(value.value):
            return value.value[int(index)], key
        return value, key
    return None, None


def _within(text: str, node: Node, error: FieldError) -> tuple[int, int] | None:
    """The document line and column of a condition's error: its expression's offending line,
    found among the lines the value spans (a plain, quoted or ``|`` block scalar)."""
    assert error.snippet is not None
    assert error.column is not None
    wanted = error.snippet.split("\n", 1)[0]
    if not wanted.strip():
        return None
    lines = text.splitlines()
    for number in range(node.start_mark.line, min(node.end_mark.line, len(lines) - 1) + 1):
        start = node.start_mark.column if number == node.start_mark.line else 0
        at = lines[number].find(wanted, start)
        if at >= 0:
            return number + 1, at + error.column
    return None


def _at(error: FieldError, text: str, line: int, column: int) -> Problem:
    lines = text.splitlines() or [""]
    source = lines[line - 1] if 0 < line <= len(lines) else ""
    source, column_shown = _window(source.replace("\t", " "), column)
    caret = " " * (column_shown - 1) + "^"
    return Problem(error.field, error.message, line, column, source, caret)


def _window(source: str, column: int) -> tuple[str, int]:
    """A long line cut to :data:`SHOWN_CHARS` around ``column`` (marked by ``…``), and the
    column within what is shown."""
    if len(source) <= SHOWN_CHARS:
        return source, column
    start = max(0, min(column - 1 - SHOWN_CHARS // 2, len(source) - SHOWN_CHARS))
    shown = source[start : start + SHOWN_CHARS]
    prefix = "…" if start else ""
    suffix = "…" if start + SHOWN_CHARS < len(source) else ""
    return prefix + shown + suffix, column - start + len(prefix)
