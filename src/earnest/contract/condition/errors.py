"""The one error the condition language raises."""

from __future__ import annotations

from earnest.errors import Invalid


class ConditionError(Invalid):
    """A condition that does not compile: a syntax error, a bad literal or a bound exceeded.

    ``line`` and ``column`` are 1-based within the expression's text; ``snippet`` is that line,
    a newline, and a caret under the offending character. ``item`` is the index of the
    expression when ``compile_condition`` was given a list, else ``None``.
    """

    def __init__(
        self, message: str, line: int, column: int, snippet: str, item: int | None = None
    ) -> None:
        super().__init__(message, code="invalid_condition", field="conditions")
        self.line = line
        self.column = column
        self.snippet = snippet
        self.item = item

    def __str__(self) -> str:
        return f"line {self.line}, column {self.column}: {self.message}\n{self.snippet}"

    @classmethod
    def at(cls, source: str, offset: int, message: str, item: int | None) -> ConditionError:
        """The error for the character at ``offset`` in ``source`` (``len(source)`` is allowed)."""
        line = source.count("\n", 0, offset) + 1
        start = source.rfind("\n", 0, offset) + 1
        end = source.find("\n", start)
        text = source[start : len(source) if end < 0 else end].rstrip("\r")
        # Tabs stay tabs under the caret so that it lines up in any terminal.
        pad = "".join("\t" if ch == "\t" else " " for ch in source[start:offset])
        return cls(message, line, offset - start + 1, f"{text}\n{pad}^", item)
