"""A full-text index of the context directory's text files, for ``context_search``.

Choices, and why:

* **SQLite FTS5, in memory.** Python's own ``sqlite3`` has it; nothing is written to the user's
  disk, and the index lives exactly as long as the debate's process.
* **Built once per ``ContextDirectory``, lazily, on the first search** (``index_for``). Debates
  that never search pay nothing; every agent's tools share the one index. It is a snapshot:
  files changed during the debate keep their old text until the next run.
* **The sandbox's rules decide what is indexed**: hidden and ignored paths are skipped (ignored
  folders are not even entered), as are binary, non-UTF-8 and over-5 MB files. Symbolic links are
  not followed, so nothing outside the root is read; a link's target inside the root is indexed
  at its own path.
* **Rows are chunks of ``CHUNK_LINES`` lines**, not files or single lines: bm25 then ranks
  passages of similar length, and a hit's line number is found inside one small chunk (with
  FTS5's ``highlight``, so it agrees with the tokenizer) instead of in a whole file.
* **A term is one quoted FTS5 phrase whose last word may be a prefix**: any user text is safe
  (quotes are doubled, operators lose their meaning), ``user.id`` finds ``user.id`` and
  ``user_id``, ``auth`` finds ``authentication``.
* **One connection behind a lock**: tools run in parallel threads, and an in-memory database
  belongs to one connection; a query takes milliseconds, so serialising them costs little.
"""

from __future__ import annotations

import os
import re
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TypedDict

from dialectic.tools.sandbox import ContextDirectory, ToolError
from dialectic.tools.text import read_text_file, snippet_around, split_lines

CHUNK_LINES = 40
MAX_FILE_MATCHES = 20
# Bounds on the first search's wait and on memory in a huge, un-ignored tree (a vendored
# dependency folder): the index takes about twice the text's size (bench/context_search.py).
MAX_INDEXED_FILES = 50_000
MAX_INDEXED_CHARACTERS = 128 * 1024 * 1024
_SNIPPET_RADIUS = 100
# highlight() wraps each match in these; they are blanked out of the indexed text beforehand.
_OPEN, _CLOSE = "\x01", "\x02"
_WORD = re.compile(r"\w")

_SCHEMA = "CREATE VIRTUAL TABLE chunks USING fts5(path UNINDEXED, first_line UNINDEXED, body)"
_QUERY = (
    "SELECT path, first_line, highlight(chunks, 2, ?, ?) FROM chunks "
    "WHERE chunks MATCH ? ORDER BY rank LIMIT ?"  # rank is bm25, sorted inside FTS5
)


class FileMatch(TypedDict):
    path: str  # relative to the context directory
    line: int  # 1-based line of the first match in the chunk
    snippet: str  # that line, cut around the match


@dataclass(frozen=True)
class IndexStats:
    files: int
    chunks: int
    characters: int  # text indexed
    skipped: int  # files left out: binary, not UTF-8, too large, unreadable
    complete: bool  # False when MAX_INDEXED_FILES or MAX_INDEXED_CHARACTERS stopped the build
    seconds: float
    size_bytes: int  # memory held by the database


class ContextIndex:
    """The index of one context directory; ``search`` is safe to call from several threads."""

    def __init__(self, directory: ContextDirectory) -> None:
        self._directory = directory
        self._lock = threading.Lock()
        self._index: tuple[sqlite3.Connection, IndexStats] | None = None

    def search(self, term: str, limit: int = MAX_FILE_MATCHES) -> list[FileMatch]:
        """The best ``limit`` chunks matching ``term``, best first, one hit per chunk."""
        query = fts_phrase(term)
        if query is None:
            return []
        with self._lock:
            db, _ = self._built()
            rows = db.execute(_QUERY, (_OPEN, _CLOSE, query, limit)).fetchall()
        return [_file_match(path, first_line, marked) for path, first_line, marked in rows]

    def stats(self) -> IndexStats:
        """Figures of the index, building it if no search has yet."""
        with self._lock:
            _, stats = self._built()
            return stats

    def _built(self) -> tuple[sqlite3.Connection, IndexStats]:
        # Called with the lock held, so concurrent first searches build the index once.
        if self._index is None:
            self._index = _build(self._directory)
        return self._index


_indexes: weakref.WeakKeyDictionary[ContextDirectory, ContextIndex] = weakref.WeakKeyDictionary()
_indexes_lock = threading.Lock()


def index_for(directory: ContextDirectory) -> ContextIndex:
    """The one index of ``directory``, shared by every agent's tools (built on its first search)."""
    with _indexes_lock:
        index = _indexes.get(directory)
        if index is None:
            index = _indexes[directory] = ContextIndex(directory)
        return index


def fts_phrase(term: str) -> str | None:
    """``term`` as one FTS5 phrase with a prefix last word, or None when it has no word in it."""
    if not _WORD.search(term):
        return None
    return '"' + term.replace('"', '""') + '"*'


def _build(directory: ContextDirectory) -> tuple[sqlite3.Connection, IndexStats]:
    started = time.perf_counter()
    # check_same_thread=False: the lock in ContextIndex, not the thread, guards the connection.
    db = sqlite3.connect(":memory:", check_same_thread=False)
    db.execute(_SCHEMA)
    counts = _Counts()
    with db:
        db.executemany("INSERT INTO chunks VALUES (?, ?, ?)", _chunks(directory, counts))
    (pages,) = db.execute("PRAGMA page_count").fetchone()
    (page_size,) = db.execute("PRAGMA page_size").fetchone()
    stats = IndexStats(
        files=counts.files,
        chunks=counts.chunks,
        characters=counts.characters,
        skipped=counts.skipped,
        complete=counts.complete,
        seconds=time.perf_counter() - started,
        size_bytes=pages * page_size,
    )
    return db, stats


@dataclass
class _Counts:
    files: int = 0
    chunks: int = 0
    characters: int = 0
    skipped: int = 0
    complete: bool = True


def _chunks(directory: ContextDirectory, counts: _Counts) -> Iterator[tuple[str, int, str]]:
    for shown, real in _candidate_files(directory):
        if counts.files >= MAX_INDEXED_FILES or counts.characters >= MAX_INDEXED_CHARACTERS:
            counts.complete = False
            return
        try:
            text = read_text_file(real, shown)
        except (ToolError, OSError):
            counts.skipped += 1
            continue
        counts.files += 1
        counts.characters += len(text)
        lines = split_lines(text.replace(_OPEN, " ").replace(_CLOSE, " "))
        for start in range(0, len(lines), CHUNK_LINES):
            counts.chunks += 1
            yield shown, start + 1, "".join(lines[start : start + CHUNK_LINES])


def _candidate_files(directory: ContextDirectory) -> Iterator[tuple[str, Path]]:
    """Visible regular files below the root, folder by folder, never following a link."""
    pending = [PurePosixPath()]
    while pending:
        folder = pending.pop()
        try:
            with os.scandir(directory.root / folder) as found:
                entries = sorted(found, key=lambda entry: entry.name)
        except OSError:
            continue
        for entry in entries:
            if entry.is_symlink():
                continue
            relative = folder / entry.name
            is_dir = entry.is_dir(follow_symlinks=False)
            if not directory.is_visible(relative, is_dir=is_dir):
                continue
            if is_dir:
                pending.append(relative)
            elif entry.is_file(follow_symlinks=False):
                yield relative.as_posix(), Path(entry.path)


def _file_match(path: str, first_line: int, marked: str) -> FileMatch:
    start = marked.find(_OPEN)
    if start < 0:  # cannot happen for a row MATCH returned; keep the chunk's first line
        start = 0
    line_start = marked.rfind("\n", 0, start) + 1
    line_end = marked.find("\n", start)
    line = marked[line_start : line_end if line_end >= 0 else len(marked)]
    # Positions of the first match within the line once the markers are removed.
    before = line[: start - line_start]
    match_start = len(before) - before.count(_OPEN) - before.count(_CLOSE)
    close = marked.find(_CLOSE, start)
    match_end = match_start + max(0, close - start - 1)
    plain = line.replace(_OPEN, "").replace(_CLOSE, "").rstrip("\r")
    return FileMatch(
        path=path,
        line=first_line + marked.count("\n", 0, start),
        snippet=snippet_around(plain, match_start, match_end, _SNIPPET_RADIUS),
    )
