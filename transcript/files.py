"""Reading and writing debate JSON files, and the one way this tool creates files and folders.

Writes are atomic: a temp file in the same folder, then a rename, so a crash never leaves a
half-written file behind. What we create is private (a debate holds the problem and every
reply): files 0600, folders 0700; a file that already exists keeps the mode its owner gave it."""

from __future__ import annotations

import contextlib
import json
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
from pydantic import ValidationError

from dialectic.errors import InputError
from dialectic.transcript.schema import DebateRecord

PRIVATE_FILE = 0o600
PRIVATE_FOLDER = 0o700


def make_private_dirs(folder: Path) -> None:
    """Create ``folder`` and its missing parents, each 0700 (``mkdir -p`` would give parents
    the umask's mode)."""
    missing = []
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    for level in reversed(missing):
        level.mkdir(mode=PRIVATE_FOLDER, exist_ok=True)


def open_private(path: Path, flags: int) -> int:
    """``os.open`` for a file we may create: 0600, folders made private, never through a
    symbolic link (``O_NOFOLLOW``: a link there is an ``OSError`` with ``errno.ELOOP``)."""
    make_private_dirs(path.parent)
    return os.open(path, flags | os.O_CREAT | os.O_NOFOLLOW, PRIVATE_FILE)


def write_atomic(path: Path, text: str) -> None:
    make_private_dirs(path.parent)
    try:
        kept = stat.S_IMODE(path.stat().st_mode) if path.is_file() else None
    except OSError:
        kept = None
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)  # 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        if kept is not None:
            os.chmod(temp, kept)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def editing(path: Path) -> Iterator[None]:
    """While held, no other process or thread edits a file of ``path``'s folder through here: a
    read-modify-write (feedback) and a run's save of the same JSON cannot lose each
    other's change. An flock on the folder itself: no lock file beside the debates, and it is
    released when its holder dies. Where a folder cannot be locked (NFS emulates flock with
    byte-range locks, which a folder opened for reading cannot take; a folder that cannot be
    read) the edit goes ahead unlocked, as it always did: a lost verdict beats a lost save."""
    import fcntl

    try:  # (a folder not there yet: nothing to race with; the write makes it)
        fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        yield
        return
    try:
        with contextlib.suppress(OSError):  # unlockable here: unlocked, as above
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def write_record(path: Path, record: DebateRecord) -> None:
    # orjson: the standard encoder indents in pure Python, ~20x slower on a long debate's JSON,
    # which is written after every step and once more as the process's last act.
    text = orjson.dumps(record.dump(), option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS).decode()
    write_atomic(path, text + "\n")


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


def reconcile_status(path: Path, status: str) -> None:
    """A file that says "running" when no process runs the debate (it was killed: nothing
    could mark it) gets the status its checkpoints show. Best effort: a file that cannot be
    read or written (a read-only copy) is left as it is."""
    with contextlib.suppress(OSError), editing(path):  # a verdict given meanwhile is kept
        try:
            said = json.loads(path.read_text(encoding="utf-8")).get("status")
        except (OSError, ValueError, AttributeError):
            return
        if said == "running" and status != "running":
            mark_status(path, status)


def mark_status(path: Path, status: str) -> None:
    """Set the status of a saved debate file in place (used when a run is cut short). Not under
    ``editing``: a second Ctrl-C calls this from a signal handler, maybe while its own thread
    holds that lock in a save, and it must not wait on itself."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    data["status"] = status
    write_atomic(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
