"""Reading and writing debate JSON files. Writes are atomic: a temp file in the same folder,
then a rename, so a crash never leaves a half-written file behind."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from dialectic.errors import InputError
from dialectic.transcript.schema import DebateRecord


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(temp, 0o666 & ~_umask())  # mkstemp makes 0600; give the file the usual mode
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def write_record(path: Path, record: DebateRecord) -> None:
    write_atomic(path, json.dumps(record.dump(), indent=2, ensure_ascii=False) + "\n")


def read_record(path: Path) -> DebateRecord:
    """Load a debate file written by this tool or by the TypeScript tool."""
    shown = path.resolve()
    if not path.exists():
        raise InputError(f"debate file not found: {shown}")
    if path.is_dir():
        raise InputError(f"debate path is a directory, not a file: {shown}")
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise InputError(f"debate file {shown} is not UTF-8 text") from exc
    except json.JSONDecodeError as exc:
        raise InputError(
            f"debate file {shown} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from exc
    if not isinstance(data, dict) or "problem" not in data or "rounds" not in data:
        raise InputError(f"{shown} is not a debate file: expected an object with 'problem' and 'rounds'")
    try:
        return DebateRecord.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise InputError(f"{shown} is not a valid debate file: {where}: {first.get('msg')}") from exc


def mark_status(path: Path, status: str) -> None:
    """Set the status of a saved debate file in place (used when a run is cut short)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    data["status"] = status
    write_atomic(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
