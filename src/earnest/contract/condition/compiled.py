"""``compile_condition``: source text to a ``Condition`` that answers verdicts fast."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from earnest.contract.condition.base import Value, Verdict
from earnest.contract.condition.errors import ConditionError
from earnest.contract.condition.evaluate import Kleene, Truth, kleene, truth
from earnest.contract.condition.exhaust import Use, exhaust, repeated, uses
from earnest.contract.condition.explain import Explanation
from earnest.contract.condition.parser import parse
from earnest.contract.condition.render import canonical
from earnest.contract.condition.tree import Name, Node, walk

EXPLAINED_MAX = 1_024  # memoised explanation texts per condition; emptied when full


@dataclass(frozen=True, slots=True)
class Condition:
    """A compiled condition. Equal conditions have equal canonical text.

    ``verdict`` is the hot path, run on every signal: one Kleene evaluation decides most
    checks; a closed-world evaluation follows when Kleene says unknown; and only when an
    unseen name occurs more than once does ``exhaust`` enumerate (docs/decisions/0003).
    """

    canonical: str
    names: frozenset[str] = field(compare=False)
    _root: Node = field(repr=False, compare=False)
    _truth: Truth = field(repr=False, compare=False)
    _kleene: Kleene = field(repr=False, compare=False)
    _repeated: tuple[str, ...] = field(repr=False, compare=False)
    _uses: Mapping[str, Use] = field(repr=False, compare=False)
    _texts: dict[tuple[tuple[str, str], ...], str] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def verdict(self, values: Mapping[str, Value]) -> Verdict:
        decided = self._kleene(values)
        if decided is not None:
            return Verdict.MET if decided else Verdict.FAILED
        if self._truth(values):
            return Verdict.MET
        if self._repeated:
            enumerated = [name for name in self._repeated if name not in values]
            if enumerated:
                return exhaust(self._kleene, self._uses, enumerated, values)
        return Verdict.UNDECIDED

    def explain(self, values: Mapping[str, Value]) -> Explanation:
        return Explanation(self.verdict(values), self._root, dict(values))

    def explanation_text(self, values: Mapping[str, Value]) -> str:
        """``explain(values).text()``, memoised: a contract's checks repeat a few combinations
        of values, and every answer about an outcome carries its last check's explanation.
        Keyed by each value's ``repr``, so 4 and 4.0 (rendered differently) stay apart."""
        key = tuple(sorted((name, repr(value)) for name, value in values.items()))
        text = self._texts.get(key)
        if text is None:
            text = self.explain(values).text()
            if len(self._texts) >= EXPLAINED_MAX:
                self._texts.clear()
            self._texts[key] = text
        return text

    def __reduce__(self) -> tuple[Any, ...]:
        return (compile_condition, (self.canonical,))  # closures do not pickle; text does


def compile_condition(source: str | Sequence[str]) -> Condition:
    """Compile one expression, or a list of expressions that must all hold (their AND).

    Raises ConditionError, with ``item`` set to the list index when given a list."""
    if isinstance(source, str):
        root = parse([source], listed=False)
    else:
        sources = list(source)
        if not sources:
            raise ConditionError("the list of conditions is empty", 1, 1, "\n^", None)
        for index, text in enumerate(sources):
            if not isinstance(text, str):
                kind = type(text).__name__
                raise ConditionError(
                    f"expected an expression as text, got {kind}", 1, 1, "\n^", index
                )
        root = parse(sources, listed=True)
    return Condition(
        canonical=canonical(root),
        names=frozenset(node.name for node in walk(root) if isinstance(node, Name)),
        _root=root,
        _truth=truth(root),
        _kleene=kleene(root),
        _repeated=repeated(root),
        _uses=uses(root),
    )
