"""Contracts: parse and validate a billable outcome's definition (SPEC section 2)."""

from earnest.contract.condition import Condition, ConditionError, compile_condition
from earnest.contract.duration import format_duration, parse_duration
from earnest.contract.errors import ContractError, FieldError
from earnest.contract.loader import (
    DOCUMENT,
    contract_file_format,
    contract_fingerprint,
    contract_to_dict,
    load_contract,
    load_contract_bytes,
)
from earnest.contract.model import AfterSettlement, Contract, OnTimeout
from earnest.contract.money import Money, minor_units, parse_price

__all__ = [
    "DOCUMENT",
    "AfterSettlement",
    "Condition",
    "ConditionError",
    "Contract",
    "ContractError",
    "FieldError",
    "Money",
    "OnTimeout",
    "compile_condition",
    "contract_file_format",
    "contract_fingerprint",
    "contract_to_dict",
    "format_duration",
    "load_contract",
    "load_contract_bytes",
    "minor_units",
    "parse_duration",
    "parse_price",
]
