"""The ``earnest`` command: one group, its subcommands in the modules beside this one."""

from earnest.cli import audit, contracts, keys, processes, simulate
from earnest.cli import demo as demo
from earnest.cli.base import main, parse_json

__all__ = ["audit", "contracts", "keys", "main", "parse_json", "processes", "simulate"]
