"""The condition language (SPEC section 3): parse, bound, evaluate and explain conditions.

    condition = compile_condition("completed AND score > 3 AND NOT disputed")
    condition.verdict({"completed": True, "score": Decimal(2)})      # Verdict.FAILED
    condition.explain(values).text()

A pure library: no I/O, no clock. Errors are ``ConditionError`` (a ``ValueError``) with the
line, the column and a caret snippet.
"""

from earnest.contract.condition.base import MAX_DEPTH, MAX_NODES, Value, Verdict
from earnest.contract.condition.compiled import Condition, compile_condition
from earnest.contract.condition.errors import ConditionError
from earnest.contract.condition.explain import Explanation

__all__ = [
    "MAX_DEPTH",
    "MAX_NODES",
    "Condition",
    "ConditionError",
    "Explanation",
    "Value",
    "Verdict",
    "compile_condition",
]
