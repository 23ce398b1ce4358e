"""A sweep's own progress, kept in the debates' store (SQLite or PostgreSQL) as a LangGraph store
namespace: each job's outcome, each debate's scores, each comparison with its baseline. The
debates themselves are their checkpoints; this is what the batch adds, so a rerun knows what is
finished (and with which settings) and repeats no scoring call either.

Namespaces: ("dialectic_batch", <sweep>, "jobs" | "scores" | "comparisons"), keyed by job key.
A score's or a comparison's ``cost`` is what every evaluation of its key spent, across reruns
(``SweepRunner._recorded``).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from dialectic.errors import StoreError
from dialectic.runner import store as stores

NAMESPACE = "dialectic_batch"
_ALL = 1_000_000  # (search pages; a sweep has far fewer jobs)


class BatchState:
    """One sweep's records; safe to use from the driver's threads."""

    def __init__(self, store: Any, sweep: str) -> None:
        self._store = store
        self._sweep = sweep
        self._lock = threading.Lock()

    def _namespace(self, kind: str) -> tuple[str, ...]:
        return (NAMESPACE, self._sweep, kind)

    def put(self, kind: str, key: str, value: dict[str, Any]) -> None:
        with self._lock:
            self._store.put(self._namespace(kind), key, value, index=False)

    def all(self, kind: str) -> dict[str, dict[str, Any]]:
        with self._lock:
            items = self._store.search(self._namespace(kind), limit=_ALL)
        return {item.key: dict(item.value) for item in items}


@contextmanager
def open_state(db: str, sweep: str) -> Iterator[BatchState]:
    url = stores.db_url(db)
    with stores.open_store(url):  # creates a new SQLite store privately, and checks it is ours
        pass
    if stores.is_postgres(url):
        with _postgres(url) as store:
            yield BatchState(store, sweep)
        return
    conn = sqlite3.connect(str(Path(url)), check_same_thread=False, isolation_level=None, timeout=30)
    try:
        from langgraph.store.sqlite import SqliteStore

        store = SqliteStore(conn)
        store.setup()
        yield BatchState(store, sweep)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot keep the batch's progress in {Path(url).absolute()}: {exc}") from exc
    finally:
        conn.close()


@contextmanager
def _postgres(url: str) -> Iterator[Any]:
    import psycopg
    from langgraph.store.postgres import PostgresStore
    from psycopg.rows import dict_row

    try:
        conn = psycopg.connect(
            url, autocommit=True, prepare_threshold=0, row_factory=dict_row, connect_timeout=10
        )
    except psycopg.Error as exc:
        raise StoreError(f"cannot open {stores.redact(url)}: {str(exc).strip().splitlines()[0]}") from exc
    try:
        store = PostgresStore(conn)
        store.setup()
        yield store
    finally:
        conn.close()
