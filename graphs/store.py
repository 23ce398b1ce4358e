"""Open the checkpoint store, and the ids that name debates in it.

A debate id is the LangGraph thread id and the name of its JSON file, so ids are validated
before they touch either: letters, digits, ``.``, ``_`` and ``-``, starting with a letter or
digit, never ``..``.
"""

from __future__ import annotations

import os
import re
import secrets
import sqlite3
import string
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

from dialectic.errors import InputError, StoreError
from dialectic.graphs import state

DEFAULT_DB = Path("debates") / "dialectic.sqlite"
DEBATES_DIR = Path("debates")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def new_debate_id(now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    suffix = "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(4))
    return f"deb-{now:%Y%m%d-%H%M%S}-{suffix}"


def validate_debate_id(value: str) -> str:
    if not _ID.match(value) or ".." in value:
        raise InputError(
            f"invalid debate id {value!r}: use 1-100 letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    return value


def debate_json_path(debate_id: str) -> Path:
    return DEBATES_DIR / f"{validate_debate_id(debate_id)}.json"


def db_url(cli_value: str | None) -> str:
    return cli_value or os.environ.get("DIALECTIC_DB") or str(DEFAULT_DB)


def serializer() -> JsonPlusSerializer:
    """Checkpoint serde that accepts exactly our state's value types (strict msgpack)."""
    return JsonPlusSerializer(allowed_msgpack_modules=state.CHECKPOINT_TYPES)


@contextmanager
def open_checkpointer(url: str) -> Iterator[BaseCheckpointSaver[str]]:
    if url.startswith(("postgres://", "postgresql://")):
        raise StoreError(f"PostgreSQL stores are not supported yet: {url.split('@')[-1]}")
    yield from _sqlite(Path(url))


def _sqlite(path: Path) -> Iterator[BaseCheckpointSaver[str]]:
    from langgraph.checkpoint.sqlite import SqliteSaver

    if path.is_dir():
        raise StoreError(f"checkpoint store {path.resolve()} is a directory; pass a file path to --db")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), check_same_thread=False, timeout=30)
    except (OSError, sqlite3.Error) as exc:
        raise StoreError(f"cannot open checkpoint store {path.resolve()}: {exc}") from exc
    try:
        saver = SqliteSaver(conn, serde=serializer())
        try:
            saver.setup()
            conn.execute(
                "SELECT thread_id, checkpoint_id, checkpoint, metadata FROM checkpoints LIMIT 1"
            ).fetchall()
        except sqlite3.DatabaseError as exc:
            raise StoreError(
                f"{path.resolve()} is not a Dialectic checkpoint store ({exc}); pass another --db path"
            ) from exc
        yield saver
    finally:
        conn.close()
