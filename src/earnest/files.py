"""Reading contracts from disk: the shell around :mod:`earnest.contract`, which never does I/O."""

from __future__ import annotations

import os
from pathlib import Path

from earnest.contract import (
    DOCUMENT,
    Contract,
    ContractError,
    FieldError,
    contract_file_format,
    load_contract,
    load_contract_bytes,
)


def load_contract_file(path: str | os.PathLike[str], *, key: str | None = None) -> Contract:
    """Read and validate a ``.yaml``, ``.yml`` or ``.json`` file; the key defaults to the
    file's stem, or with ``key`` is that key (a ``key`` in the document must then be it)."""
    file = Path(path)
    fmt = contract_file_format(file.name)  # a wrong suffix is refused before the disk is touched
    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise ContractError(
            [FieldError(DOCUMENT, f"cannot read {str(file)!r}: {exc.strerror or exc}")]
        ) from None
    if key is not None:
        return load_contract(raw, key=key, format=fmt)
    return load_contract_bytes(raw, filename=file.name)
