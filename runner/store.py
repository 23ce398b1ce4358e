"""The checkpoint store (SQLite or PostgreSQL), the ids that name debates in it, and the lock
that makes one process the only writer of a debate.

A debate id is the LangGraph thread id and the name of its JSON file, so ids are validated
before they touch either: letters, digits, ``.``, ``_`` and ``-``, starting with a letter or
digit, never ``..``. The writer lock dies with its holder (an ``flock`` on a file next to a
SQLite store, a session advisory lock in PostgreSQL), so a killed debate is never shown as
running forever and can be resumed at once.

Commands that only read (``list``, ``show``) open a SQLite store read-only: a read-only file or
mount works, and a store that is not there is not created. What we create is private (a store
holds every problem and reply): the file 0600, its folders 0700, lock files 0600 and never
opened through a symbolic link.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import secrets
import socket
import sqlite3
import string
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from dialectic.errors import InputError, StoreError
from dialectic.transcript.files import open_private

if TYPE_CHECKING:  # LangGraph loads slowly: ids and paths (`report`, a bad --id) need none of it
    from langgraph.checkpoint.base import BaseCheckpointSaver
    from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

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


def is_postgres(url: str) -> bool:
    return url.startswith(("postgres://", "postgresql://"))


def redact(url: str) -> str:
    """A store URL fit for messages: no password."""
    return re.sub(r"//([^:/@]+):[^@]*@", r"//\1:***@", url)


def serializer() -> JsonPlusSerializer:
    """Checkpoint serde that accepts exactly our state's value types (strict msgpack)."""
    from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

    from dialectic.debate import state

    return JsonPlusSerializer(allowed_msgpack_modules=state.CHECKPOINT_TYPES)


class DebateBusy(InputError):
    """Another live process is running this debate (exit 2)."""


class DebateExists(InputError):
    """A new debate was given the id of one already in the store or in ./debates (exit 2)."""


def require_new(store: Store | None, debate_id: str, *, hint: str | None = None) -> None:
    """Refuse to start ``debate_id`` over a debate already in ``store`` (None: no store yet) or
    over its JSON file. ``hint``: what to do instead (default: the CLI's way)."""
    if store is not None and store.exists(debate_id):
        hint = hint or f"resume it with: dialectic resume {debate_id}"
        raise DebateExists(f"a debate with id {debate_id!r} already exists; {hint}")
    path = debate_json_path(debate_id)
    if path.exists():
        hint = hint or "choose another --id"
        raise DebateExists(f"{path} already exists (a debate in another store?); {hint}")


def require_new_at(url: str, debate_id: str, *, hint: str | None = None) -> None:
    """``require_new`` for the store at ``url``, opened only to look (if it is there at all)."""
    if not store_exists(url):
        return require_new(None, debate_id, hint=hint)
    with open_store(url, read_only=True) as store:
        require_new(store, debate_id, hint=hint)


def store_exists(url: str) -> bool:
    """Whether the store is there: a SQLite store is its file (PostgreSQL's is taken to be)."""
    return is_postgres(url) or Path(url).exists()


@dataclass(frozen=True)
class Owner:
    pid: int
    host: str
    command: str

    @classmethod
    def me(cls, command: str) -> Owner:
        return cls(os.getpid(), socket.gethostname(), command)

    def describe(self) -> str:
        return f"process {self.pid} on {self.host} ({self.command})"


class _Locks(Protocol):
    def acquire(self, debate_id: str, owner: Owner) -> Any: ...
    def release(self, handle: Any) -> None: ...
    def holder(self, debate_id: str) -> Owner | None: ...


class Store:
    """An open checkpoint store: the saver, thread listing, and per-debate writer locks."""

    def __init__(
        self, url: str, saver: BaseCheckpointSaver[str], locks: _Locks, list_sql: str, runner: Any
    ) -> None:
        self.url = url
        self.saver = saver
        self._locks = locks
        self._list_sql = list_sql
        self._run_sql = runner

    def thread_ids(self) -> list[str]:
        return [row[0] for row in self._run_sql(self._list_sql)]

    def exists(self, debate_id: str) -> bool:
        return self.saver.get_tuple({"configurable": {"thread_id": debate_id}}) is not None

    def holder(self, debate_id: str) -> Owner | None:
        return self._locks.holder(debate_id)

    @contextmanager
    def writer(self, debate_id: str, command: str) -> Iterator[None]:
        """Hold the debate's writer lock for the duration, or fail naming who holds it."""
        owner = Owner.me(command)
        handle = self._locks.acquire(debate_id, owner)
        if handle is None:
            holder = self._locks.holder(debate_id)
            who = holder.describe() if holder else "another process"
            raise DebateBusy(
                f"debate {debate_id} is being run by {who}; wait for it to finish or stop it first"
            )
        try:
            yield
        finally:
            self._locks.release(handle)


@contextmanager
def open_store(url: str, *, read_only: bool = False) -> Iterator[Store]:
    """The store at ``url``. ``read_only`` (commands that only look): a SQLite file is opened
    read-only, and one that is not there reads as an empty store (nothing is created)."""
    if is_postgres(url):
        yield from _postgres(url)
    else:
        yield from _sqlite(Path(url), read_only=read_only)


def require_store(url: str, debate_id: str | None = None) -> None:
    """A SQLite store that is not there is an error for ``list`` (the default store is relative
    to the working directory, and a typo in --db would list nothing) and for commands that
    continue ``debate_id`` (opening it would create an empty store)."""
    if store_exists(url):
        return
    missing = (
        f"no debates store at {Path(url).absolute()}; check --db or DIALECTIC_DB, "
        "or the working directory (the first debate creates the store)"
    )
    if debate_id is not None:
        raise InputError(f"no debate {validate_debate_id(debate_id)!r}: {missing}")
    raise InputError(missing)


@contextmanager
def open_checkpointer(url: str) -> Iterator[BaseCheckpointSaver[str]]:
    with open_store(url) as store:
        yield store.saver


# --- SQLite -----------------------------------------------------------------------------------


class _FileLocks:
    """``flock`` on ``<db>.locks/<id>.lock``: released by the kernel when the holder dies."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _path(self, debate_id: str) -> Path:
        return self.folder / f"{validate_debate_id(debate_id)}.lock"

    def _open(self, path: Path, create: bool) -> int:
        """The lock file's descriptor; a symbolic link there, or as the lock folder, is refused,
        never followed (its target would be truncated and overwritten)."""
        if self.folder.is_symlink():
            raise InputError(
                f"lock folder {self.folder.absolute()} is a symbolic link; dialectic never makes one: remove it"
            )
        try:
            return open_private(path, os.O_RDWR) if create else os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise InputError(
                    f"lock file {path.absolute()} is a symbolic link; dialectic never makes one: remove it"
                ) from exc
            raise StoreError(f"cannot open lock file {path.absolute()}: {exc.strerror or exc}") from exc

    def acquire(self, debate_id: str, owner: Owner) -> Any:
        import fcntl

        fd = self._open(self._path(debate_id), create=True)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return None
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps(owner.__dict__).encode())
        return fd

    def release(self, handle: Any) -> None:
        os.close(handle)

    def holder(self, debate_id: str) -> Owner | None:
        import fcntl

        path = self._path(debate_id)
        if not os.path.lexists(path):
            return None
        fd = self._open(path, create=False)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except OSError:
                try:
                    with os.fdopen(os.dup(fd), "rb") as handle:
                        return Owner(**json.loads(handle.read() or b"{}"))
                except (ValueError, TypeError):
                    return Owner(0, "?", "?")
            fcntl.flock(fd, fcntl.LOCK_UN)
            return None
        finally:
            os.close(fd)


def _sqlite(path: Path, *, read_only: bool) -> Iterator[Store]:
    from langgraph.checkpoint.sqlite import SqliteSaver

    shown = path.absolute()
    if path.is_dir():
        raise InputError(f"checkpoint store {shown} is a directory; pass a file path to --db")
    conn = _read_sqlite(path, shown) if read_only else _write_sqlite(path, shown)
    lock = threading.Lock()

    def run_sql(sql: str) -> list[tuple[Any, ...]]:
        with lock:
            return conn.execute(sql).fetchall()

    try:
        saver = SqliteSaver(conn, serde=serializer())
        try:
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if tables and "checkpoints" not in tables:
                raise InputError(
                    f"{shown} is another program's SQLite database (tables: {', '.join(sorted(tables)[:5])}); "
                    "pass a new or Dialectic --db path"
                )
            if read_only and tables:
                saver.is_setup = True  # the tables are there, and setting up would write
            else:
                saver.setup()  # (read-only with no tables: an in-memory store, see _read_sqlite)
            conn.execute(
                "SELECT thread_id, checkpoint_id, checkpoint, metadata FROM checkpoints LIMIT 1"
            ).fetchall()
        except sqlite3.OperationalError as exc:
            if "readonly" in str(exc):
                raise _read_only(shown) from exc
            raise _not_a_store(shown, exc) from exc
        except sqlite3.DatabaseError as exc:
            raise _not_a_store(shown, exc) from exc
        locks = _FileLocks(path.with_name(path.name + ".locks"))
        yield Store(
            str(path),
            saver,
            locks,
            "SELECT DISTINCT thread_id FROM checkpoints WHERE checkpoint_ns = ''",
            run_sql,
        )
    finally:
        conn.close()


def _read_sqlite(path: Path, shown: Path) -> sqlite3.Connection:
    """A read-only connection; an empty in-memory store when there is no file or it is empty
    (nothing is created or written)."""
    if not path.exists() or path.stat().st_size == 0:
        return sqlite3.connect(":memory:", check_same_thread=False)
    try:
        if _writable(path):
            # Writes refused by SQLite itself; unlike mode=ro, this connection removes the WAL
            # files it makes when it closes, so reading leaves the folder as it was.
            conn = sqlite3.connect(str(path), check_same_thread=False, timeout=30)
            conn.execute("PRAGMA query_only = ON")
            return conn
        uri = path.resolve().as_uri()
        conn = sqlite3.connect(f"{uri}?mode=ro", uri=True, check_same_thread=False, timeout=30)
        try:
            conn.execute("SELECT name FROM sqlite_master LIMIT 1").fetchall()
            return conn
        except sqlite3.OperationalError:
            # A WAL store in a read-only folder or mount: SQLite cannot make its shared-memory
            # file there. Nothing can write there either, so reading it as immutable is safe.
            conn.close()
        return sqlite3.connect(f"{uri}?mode=ro&immutable=1", uri=True, check_same_thread=False)
    except sqlite3.DatabaseError as exc:
        raise _not_a_store(shown, exc) from exc


def _writable(path: Path) -> bool:
    """The store file and its folder (where SQLite makes its journal) can be written."""
    return os.access(path, os.R_OK | os.W_OK) and os.access(path.parent, os.W_OK | os.X_OK)


def _write_sqlite(path: Path, shown: Path) -> sqlite3.Connection:
    """A read-write connection, the file created private if it is new."""
    if path.exists() and not _writable(path):
        raise _read_only(shown)
    try:
        if not path.exists():  # before SQLite creates it: its journal files copy this mode
            with contextlib.suppress(FileExistsError):
                os.close(open_private(path, os.O_WRONLY | os.O_EXCL))
        return sqlite3.connect(str(path), check_same_thread=False, timeout=30)
    except OSError as exc:
        if exc.errno == errno.EROFS:
            raise _read_only(shown) from exc
        raise InputError(
            f"cannot create checkpoint store {shown}: {exc.strerror or exc}; pass another --db"
        ) from exc
    except sqlite3.Error as exc:
        raise InputError(f"cannot open checkpoint store {shown}: {exc}; pass another --db") from exc


def _read_only(shown: Path) -> InputError:
    return InputError(
        f"checkpoint store {shown} is not writable; `list`, `show` and `report` can read it, "
        "but a debate needs a writable --db"
    )


def _not_a_store(shown: Path, exc: Exception) -> InputError:
    return InputError(f"{shown} is not a Dialectic checkpoint store ({exc}); pass another --db path")


# --- PostgreSQL -------------------------------------------------------------------------------


# How the server notices that a lock's holder is gone without closing its connection (its
# machine lost, a network cut: a killed process's kernel closes it, which the server sees at
# once): TCP keepalive probes from the server's side after this long idle, this often, this many
# unanswered. Only the server's probes free the lock (PostgreSQL's default waits the OS's two
# hours); libpq's own keepalives_* probe from the client's side, which holds nothing. In all:
# a lost holder's lock is freed within LOCK_KEEPALIVE_SECONDS.
_KEEPALIVE_IDLE, _KEEPALIVE_INTERVAL, _KEEPALIVE_COUNT = 30, 10, 3
LOCK_KEEPALIVE_SECONDS = _KEEPALIVE_IDLE + _KEEPALIVE_INTERVAL * _KEEPALIVE_COUNT


class _AdvisoryLocks:
    """Session advisory locks, one connection per held lock: PostgreSQL releases them when the
    holder's connection ends, whichever machine it ran on. The owner is noted in a small table."""

    def __init__(self, url: str, connect: Any) -> None:
        self.url = url
        self.connect = connect

    @staticmethod
    def _key(debate_id: str) -> int:
        return zlib.crc32(f"dialectic:{debate_id}".encode()) - 2**31

    def _lock_connection(self) -> Any:
        """A connection to hold a lock on, probed by the server while it sits idle (the settings
        are the session's own; over a Unix socket PostgreSQL ignores them, as there is no host
        to lose)."""
        conn = self.connect(self.url, autocommit=True, connect_timeout=10)
        try:
            conn.execute(
                "SELECT set_config('tcp_keepalives_idle', %s, false), "
                "set_config('tcp_keepalives_interval', %s, false), set_config('tcp_keepalives_count', %s, false)",
                (str(_KEEPALIVE_IDLE), str(_KEEPALIVE_INTERVAL), str(_KEEPALIVE_COUNT)),
            )
        except BaseException:
            conn.close()
            raise
        return conn

    def acquire(self, debate_id: str, owner: Owner) -> Any:
        conn = self._lock_connection()
        try:
            locked = conn.execute("SELECT pg_try_advisory_lock(%s)", (self._key(debate_id),)).fetchone()[0]
            if locked:
                conn.execute(
                    "INSERT INTO dialectic_owners (thread_id, owner) VALUES (%s, %s) "
                    "ON CONFLICT (thread_id) DO UPDATE SET owner = EXCLUDED.owner",
                    (debate_id, json.dumps(owner.__dict__)),
                )
                return conn
        except BaseException:
            conn.close()  # closing frees the lock too
            raise
        conn.close()
        return None

    def release(self, handle: Any) -> None:
        handle.close()

    def holder(self, debate_id: str) -> Owner | None:
        with self.connect(self.url, autocommit=True) as conn:
            key = self._key(debate_id)
            if conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()[0]:
                conn.execute("SELECT pg_advisory_unlock(%s)", (key,))
                return None
            row = conn.execute(
                "SELECT owner FROM dialectic_owners WHERE thread_id = %s", (debate_id,)
            ).fetchone()
        try:
            return Owner(**json.loads(row[0])) if row else Owner(0, "?", "?")
        except (ValueError, TypeError):
            return Owner(0, "?", "?")


def _postgres(url: str) -> Iterator[Store]:
    try:
        import psycopg
        from langgraph.checkpoint.postgres import PostgresSaver
    except ImportError as exc:
        raise StoreError(
            "a PostgreSQL store needs the postgres extra: pip install 'dialectic-debate[postgres]'"
        ) from exc
    from psycopg.rows import dict_row

    try:
        conn = psycopg.connect(
            url, autocommit=True, prepare_threshold=0, row_factory=dict_row, connect_timeout=10
        )
    except psycopg.Error as exc:
        raise StoreError(
            f"cannot open checkpoint store {redact(url)}: {str(exc).strip().splitlines()[0]}"
        ) from exc
    lock = threading.Lock()

    def run_sql(sql: str) -> list[tuple[Any, ...]]:
        with lock:
            return [tuple(row.values()) for row in conn.execute(sql).fetchall()]

    try:
        saver = PostgresSaver(conn, serde=serializer())
        try:
            saver.setup()
            conn.execute(
                "CREATE TABLE IF NOT EXISTS dialectic_owners (thread_id TEXT PRIMARY KEY, owner TEXT NOT NULL)"
            )
        except psycopg.Error as exc:
            raise StoreError(
                f"cannot set up checkpoint store {redact(url)}: {str(exc).strip().splitlines()[0]}"
            ) from exc
        locks = _AdvisoryLocks(url, psycopg.connect)
        yield Store(
            url, saver, locks, "SELECT DISTINCT thread_id FROM checkpoints WHERE checkpoint_ns = ''", run_sql
        )
    finally:
        with contextlib.suppress(Exception):
            conn.close()
