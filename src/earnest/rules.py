"""The admission rules of SPEC section 5, once: who may open an outcome, whose outcome it is,
and what a reused idempotency key means. Pure: the caller looks up what the rules need.

Ingest, ``POST /v1/outcomes`` and ``earnest simulate`` all ask these functions, so a signal
is refused for the same reason, with the same ``code`` and ``field``, wherever it is sent.
The rules return a refusal rather than raise it: ingest collects one per item of a batch.
"""

from __future__ import annotations

from typing import Literal

from earnest.errors import Conflict, Invalid, NotFound


class UnknownContract(NotFound):
    code = "unknown_contract"

    def __init__(self, key: str, version: int | None = None, *, field: str = "contract") -> None:
        self.key = key
        self.version = version
        what = f"no contract with key {key!r}"
        super().__init__(what if version is None else f"{what} at version {version}", field=field)


class ContractArchived(Conflict):
    code = "contract_archived"

    def __init__(self, key: str) -> None:
        super().__init__(
            f"contract {key!r} is archived: it opens no new outcomes", field="contract"
        )


class CustomerRequired(Invalid):
    code = "customer_required"

    def __init__(self, ref: str) -> None:
        super().__init__(
            f"outcome {ref!r} is not open yet: the signal that opens it needs a customer",
            field="customer",
        )


class CustomerMismatch(Conflict):
    code = "customer_mismatch"

    def __init__(self, ref: str, owner: str, claimed: str) -> None:
        super().__init__(
            f"outcome {ref!r} belongs to customer {owner!r}, not {claimed!r}", field="customer"
        )


class IdempotencyConflict(Conflict):
    code = "idempotency_conflict"

    def __init__(self, ident: str) -> None:
        super().__init__(f"signal id {ident!r} was already used for a different signal", field="id")


class UnknownOutcome(NotFound):
    code = "unknown_outcome"

    def __init__(self, contract: str, ref: str) -> None:
        self.contract = contract
        self.ref = ref
        super().__init__(f"no outcome {ref!r} for contract {contract!r}", field="outcome")


class AlreadySettled(Conflict):
    code = "already_settled"

    def __init__(self, ref: str, state: str) -> None:
        super().__init__(f"outcome {ref!r} is already {state}", field="outcome")


Refusal = UnknownContract | ContractArchived | CustomerRequired | CustomerMismatch


def refuse_opening(
    contract: str, ref: str, customer: str | None, archived: bool | None
) -> Refusal | None:
    """Why a signal may not open outcome ``(contract, ref)``, or None if it may.
    ``archived`` is the contract's flag, None when there is no such contract."""
    if archived is None:
        return UnknownContract(contract)
    if archived:
        return ContractArchived(contract)
    if customer is None:
        return CustomerRequired(ref)
    return None


def refuse_customer(ref: str, owner: str, claimed: str | None) -> CustomerMismatch | None:
    """An outcome belongs to one customer forever: a signal naming another is refused."""
    if claimed is not None and claimed != owner:
        return CustomerMismatch(ref, owner, claimed)
    return None


def reused_id(
    ident: str, fingerprint: str, seen: str
) -> Literal["duplicate"] | IdempotencyConflict:
    """A signal id seen before (with payload fingerprint ``seen``): the same payload is a
    duplicate, answered as the first was with no effect; another payload is a conflict."""
    return "duplicate" if fingerprint == seen else IdempotencyConflict(ident)
