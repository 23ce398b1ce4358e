"""The garbage collector over the life of a ``dialectic`` process that runs a debate.

Such a process imports LangGraph, LangChain and a provider's client: hundreds of thousands of
objects (modules, classes, pydantic schemas) that live until the end. CPython's cyclic
collector walks all of them at each full collection while they are being made (a tenth of
start-up) and again when the interpreter tears down (0.5 s or more after the last reply: most of
the slow exit of issue 13; a bare ``python -c "import langgraph.graph, langchain_openai"`` pays
it too). None of them is garbage: start-up runs with the collector off, and at exit what is
alive is frozen out of its reach, for the OS to free at once.

Only the CLI's ``main`` turns this on (``exit_without_collecting``): a command run any other way
(Typer's test runner, a host program calling the app) leaves the collector alone. And ``main``
changes nothing for a caller that goes on living (a test that runs it in its own process): when
a command ends the collector is as it was and nothing is frozen; the exit freeze happens only
when the interpreter really exits.
"""

from __future__ import annotations

import atexit
import gc
from collections.abc import Iterator
from contextlib import contextmanager

_starting = False
_frozen = False
_exit_registered = False
_was_enabled = True


def starting() -> None:
    """Start-up begins: no cyclic collections until ``started`` (imports make no garbage worth
    collecting). Only in a process ``main`` runs."""
    global _starting, _was_enabled
    if not _exit_registered or _starting:
        return
    _starting = True
    _was_enabled = gc.isenabled()
    gc.disable()


def started() -> None:
    """Start-up is over (the calls begin): what it made moves to the permanent generation, which
    later collections skip, and the collector runs again for what the run makes."""
    global _starting, _frozen
    if _starting:
        _starting = False
        _frozen = True
        gc.freeze()
        if _was_enabled:
            gc.enable()


@contextmanager
def start_up() -> Iterator[None]:
    """Start-up is the block (a command's imports): ``starting``, then ``started``."""
    starting()
    yield
    started()


def ended() -> None:
    """The command is over: the collector as it was before (on, if start-up never finished;
    start-up's objects back within its reach). The process exits next, or its caller goes on."""
    global _starting, _frozen
    if _starting:
        _starting = False
        if _was_enabled:
            gc.enable()
    if _frozen:
        _frozen = False
        gc.unfreeze()


def exit_without_collecting() -> None:
    """At interpreter exit, after the atexit handlers registered later (and after non-daemon
    threads are joined), freeze what is alive: the teardown then frees modules without walking
    them all for cycles. Nothing else of a normal exit is skipped: stdio is flushed, every
    handler runs. The store is closed and the products written before (``main`` returns)."""
    global _exit_registered
    if not _exit_registered:
        _exit_registered = True
        atexit.register(gc.freeze)
