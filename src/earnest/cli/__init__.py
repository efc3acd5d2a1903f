"""The ``earnest`` command: one group (:mod:`earnest.cli.base`), its subcommands in the
modules beside it, each imported only when it runs."""

from earnest.cli.base import main

__all__ = ["main"]
