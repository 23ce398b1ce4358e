"""A reader's verdict on a debate: thumbs up or down, saved as ``userFeedback`` (1 or -1) in
its debate JSON, as the TypeScript tool saves it. Set from the web page or ``dialectic feedback``;
a run that saves the JSON again keeps it (``save_keeping_feedback``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dialectic.errors import InputError
from dialectic.runner.store import debate_json_path
from dialectic.transcript.files import editing, write_atomic, write_record

if TYPE_CHECKING:
    from dialectic.transcript.schema import DebateRecord

VERDICTS = {"up": 1, "down": -1}


def parse_verdict(value: str) -> int:
    """``up``/``down`` (or ``1``/``-1``) as the number the debate JSON holds."""
    found = VERDICTS.get(value.strip().lower()) or {"1": 1, "-1": -1}.get(value.strip())
    if found is None:
        raise InputError(f"feedback must be up or down (got {value!r})")
    return found


def set_feedback(debate_id: str, verdict: int) -> Path:
    """Write ``userFeedback`` into the debate's JSON; the rest of the file is left as it is."""
    if verdict not in (1, -1):
        raise InputError(f"feedback must be 1 (up) or -1 (down) (got {verdict!r})")
    path = debate_json_path(debate_id)
    if not path.is_file():
        raise InputError(
            f"no debate file for {debate_id!r} at {path.resolve()}; `dialectic list` shows the debates"
        )
    with editing(path):  # a run saving this JSON meanwhile keeps the verdict, and vice versa
        data = _read(path)
        if data is None:
            raise InputError(f"{path.resolve()} is not a readable debate file; `dialectic show {debate_id}`")
        data["userFeedback"] = verdict
        write_atomic(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    return path


def kept_feedback(path: Path) -> Any:
    """The ``userFeedback`` a debate JSON already holds (None if none, or no readable file)."""
    data = _read(path)
    return data.get("userFeedback") if data is not None else None


def save_keeping_feedback(path: Path, record: DebateRecord) -> None:
    """Write a run's ``record`` to its JSON, keeping the verdict a reader gave the file."""
    with editing(path):  # a verdict set meanwhile is not lost between the read and the write
        record.userFeedback = kept_feedback(path)
        write_record(path, record)


def _read(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
