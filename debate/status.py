"""A debate's status, from its state and where its graph stands: one function for the runner,
``dialectic list``/``show`` and the debate JSON."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal, cast

from dialectic.debate.failures import unrecovered
from dialectic.debate.pauses import Pause, by_urgency
from dialectic.debate.state import DebateState

Status = Literal["running", "completed", "degraded", "failed", "waiting_for_input", "paused", "interrupted"]


def debate_status(
    values: Mapping[str, Any],
    pauses: Sequence[Pause],
    *,
    finished: bool,
    errored: bool = False,
    running: bool = False,
) -> Status:
    """``finished``: the graph has nothing left to run; ``errored``: a node failed with an
    error (a bug); ``running``: a live process holds the debate's writer lock.

    A debate that stopped with work left and no pause was interrupted (Ctrl-C, a kill, a
    crash): ``dialectic resume`` continues it."""
    if running:
        return "running"
    if pauses:
        return cast(Status, by_urgency(list(pauses))[0].status)
    if finished and values.get("final_solution") is not None:
        return "degraded" if unrecovered(cast(DebateState, values)) else "completed"
    return "failed" if errored else "interrupted"
