"""Errors a user can act on, each carrying the exit code of spec §1.6.

The CLI prints ``str(error)`` as one line on stderr and exits with ``exit_code``;
anything that is not a ``DialecticError`` is a bug (exit 1).
"""

from __future__ import annotations


class DialecticError(Exception):
    """Base class: a message for the user and the exit code that goes with it."""

    exit_code = 1


class InputError(DialecticError):
    """Invalid arguments or input files (exit 2)."""

    exit_code = 2


class ProviderError(DialecticError):
    """An LLM provider failed after retries; the state is kept (exit 3)."""

    exit_code = 3


class ConfigError(DialecticError):
    """Invalid configuration, unknown provider, missing API key (exit 4)."""

    exit_code = 4


class StoreError(DialecticError):
    """The checkpoint store cannot be opened (exit 4)."""

    exit_code = 4
