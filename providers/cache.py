"""A replay cache of LLM responses on disk: a LangChain ``BaseCache`` backed by SQLite.

Record a debate once, replay it later (in CI, in a demo) with no network and no cost. Replayed
responses carry ``dialectic_cached`` in their response metadata so usage figures mark them.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from langchain_core._api import LangChainBetaWarning
from langchain_core.caches import RETURN_VAL_TYPE, BaseCache
from langchain_core.load import dumps, loads
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration

from dialectic.errors import InputError

CACHED_MARK = "dialectic_cached"

# langchain_core.load warns that it is in beta on every call: on every cache hit, on stderr.
warnings.filterwarnings("ignore", message="The function `loads` is in beta", category=LangChainBetaWarning)


class SQLiteResponseCache(BaseCache):
    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            # Readable by its owner only: it holds every prompt. (The providers layer sits below
            # transcript/, whose open_private it cannot import.)
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600))
            self._conn = sqlite3.connect(str(path), check_same_thread=False, timeout=30)
            self._conn.execute(
                "CREATE TABLE IF NOT EXISTS responses (prompt TEXT NOT NULL, llm TEXT NOT NULL, "
                "generations TEXT NOT NULL, PRIMARY KEY (prompt, llm))"
            )
            self._conn.commit()
        except (OSError, sqlite3.Error) as exc:
            raise InputError(f"cannot use {path.resolve()} as a response cache: {exc}") from exc
        self._lock = threading.Lock()

    def lookup(self, prompt: str, llm_string: str) -> RETURN_VAL_TYPE | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT generations FROM responses WHERE prompt = ? AND llm = ?", (prompt, llm_string)
            ).fetchone()
        if row is None:
            return None
        # Only a chat model's replies are revived: a cache file may come from someone else, and
        # LangChain's default would construct any of its core classes from it. Anything else
        # (another class, a malformed entry) is a miss, and the real reply replaces it.
        try:
            generations: Any = loads(row[0], allowed_objects=[ChatGeneration, AIMessage])
        except Exception:  # whatever reviving a bad entry raises: the entry is unusable
            return None
        if not isinstance(generations, list) or not generations:
            return None
        if not all(isinstance(generation, ChatGeneration) for generation in generations):
            return None
        for generation in generations:
            generation.message.response_metadata = {**generation.message.response_metadata, CACHED_MARK: True}
        return generations

    def update(self, prompt: str, llm_string: str, return_val: RETURN_VAL_TYPE) -> None:
        with self._lock:
            self._conn.execute(
                "INSERT OR REPLACE INTO responses (prompt, llm, generations) VALUES (?, ?, ?)",
                (prompt, llm_string, dumps(list(return_val))),
            )
            self._conn.commit()

    def close(self) -> None:
        """Close the connection (a process that runs many debates, as a batch does, would
        otherwise hold one open file per debate until the interpreter exits)."""
        with self._lock:
            self._conn.close()

    def clear(self, **kwargs: Any) -> None:
        with self._lock:
            self._conn.execute("DELETE FROM responses")
            self._conn.commit()


class RefreshingCache(BaseCache):
    """A cache that is written but not read: a model with it asks afresh and its reply
    replaces the entry under the same key (the key does not depend on the model's cache)."""

    def __init__(self, inner: BaseCache) -> None:
        self.inner = inner

    def lookup(self, prompt: str, llm_string: str) -> RETURN_VAL_TYPE | None:
        return None

    def update(self, prompt: str, llm_string: str, return_val: RETURN_VAL_TYPE) -> None:
        self.inner.update(prompt, llm_string, return_val)

    def clear(self, **kwargs: Any) -> None:
        self.inner.clear(**kwargs)


def is_cached(messages: Sequence[Any]) -> bool:
    return any(getattr(m, "response_metadata", {}).get(CACHED_MARK) for m in messages)
