"""Errors a user can act on, and the one table of exit codes (spec §1.6).

The CLI prints ``str(error)`` as one line on stderr and exits with the error's ``exit_code``;
anything that is not a ``DialecticError`` is a bug (``ExitCode.BUG``).
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0  # success: the debate completed, the command is done
    BUG = 1  # an unexpected internal error
    INPUT = 2  # invalid arguments or input files
    PROVIDER = 3  # an LLM provider failed after retries (state kept; resume continues)
    CONFIG = 4  # invalid configuration, unknown provider, missing API key
    PAUSED = 5  # waiting for input, or a budget reached (state kept; resume continues)
    INTERRUPTED = 130  # Ctrl-C (state kept; resume continues)


class DialecticError(Exception):
    """Base class: a message for the user and the exit code that goes with it."""

    exit_code = ExitCode.BUG


class InputError(DialecticError):
    """Invalid arguments or input files."""

    exit_code = ExitCode.INPUT


class ProviderError(DialecticError):
    """An LLM provider failed after retries; the state is kept."""

    exit_code = ExitCode.PROVIDER


class ConfigError(DialecticError):
    """Invalid configuration, unknown provider, missing API key."""

    exit_code = ExitCode.CONFIG


class StoreError(DialecticError):
    """The checkpoint store cannot be opened."""

    exit_code = ExitCode.CONFIG
