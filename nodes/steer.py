"""After a round's refinements (never after the last round): wait for the user's steering note.

The resume value is the note (a string, or ``{"note": "…"}``); an empty note just continues.
A note reaches every agent and the judge from the next round on (``history.notes_text``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from langgraph.runtime import Runtime

from dialectic.debate.context import DebateContext
from dialectic.debate.pauses import SteeringPause, pause
from dialectic.debate.state import DebateState, SteeringNote
from dialectic.nodes.agent_call import now_iso


def note_of(value: object) -> str:
    if isinstance(value, Mapping):
        value = value.get("note")
    return value.strip() if isinstance(value, str) else ""


def steer(state: DebateState, runtime: Runtime[DebateContext]) -> dict[str, Any]:
    round_number = state["round"]
    value = pause(SteeringPause(round=round_number, rounds=runtime.context.settings.config.debate.rounds))
    note = note_of(value)
    runtime.stream_writer({"event": "steering", "round": round_number, "note": note})
    if not note:
        return {}
    return {"steering_notes": [SteeringNote(after_round=round_number, text=note, timestamp=now_iso())]}
