"""The ``earnest`` command: one group, its subcommands in the modules beside this one."""

from earnest.cli import audit, contracts, keys, processes, simulate
from earnest.cli import demo as demo
from earnest.cli.base import main

__all__ = ["audit", "contracts", "keys", "main", "processes", "simulate"]
