"""What every part of the condition language shares: value and verdict types, and the bounds.

Every bound is stated in the error that enforces it (TIGER_STYLE: put a bound on everything).
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import TypeAlias

Value: TypeAlias = bool | Decimal | str
"""A signal's current value. Numbers are always ``Decimal``, never ``float`` or ``int``."""


class Verdict(StrEnum):
    MET = "met"
    FAILED = "failed"
    UNDECIDED = "undecided"


MAX_NODES = 200
MAX_DEPTH = 32
MAX_NAME_CHARS = 64  # the same bound as a signal's name (SPEC section 5)
MAX_STRING_CHARS = 1024  # the same bound as a signal's string value
MAX_NUMBER_CHARS = 64  # a numeric literal, as written (sign, digits and point)
MAX_ENUMERATION = 4096  # evaluations spent proving "failed"; see docs/decisions/0003

KEYWORDS = frozenset({"AND", "OR", "NOT", "IN", "TRUE", "FALSE"})
