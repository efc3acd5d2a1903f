"""Earnest: a self-hosted engine for outcome-based billing."""

__version__ = "0.1.0"
