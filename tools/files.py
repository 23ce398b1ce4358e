"""The two file tools: list one folder, read one text file. Both raise ``ToolError`` for the model."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Literal, NotRequired, TypedDict

from dialectic.tools.sandbox import ContextDirectory, SandboxPath, ToolError
from dialectic.tools.text import read_text_file, split_lines

MAX_LIST_ENTRIES = 500
MAX_READ_BYTES = 64 * 1024


class FileEntry(TypedDict):
    path: str  # relative to the context directory, POSIX separators
    type: Literal["file", "directory"]
    size: NotRequired[int]  # bytes; files only


class FolderListing(TypedDict):
    path: str
    entries: list[FileEntry]
    more: int  # visible entries left out after the first MAX_LIST_ENTRIES
    note: NotRequired[str]


class FileContent(TypedDict):
    path: str
    content: str
    startLine: int
    endLine: int  # the last line included (0 for an empty file)
    totalLines: int
    truncated: bool  # True when the MAX_READ_BYTES cap cut the requested range short
    note: NotRequired[str]


def list_files(directory: ContextDirectory, path: str) -> FolderListing:
    """The visible entries of one folder (not recursive), sorted by path, at most 500."""
    folder = directory.resolve(path)
    if not folder.real.is_dir():
        if folder.real.exists():
            raise ToolError(f"'{folder.shown}' is a file, not a folder; use file_read to read it")
        raise ToolError(
            f"there is no folder '{folder.shown}'; list '.' to see the top of the context directory"
        )
    entries = sorted(_visible_entries(directory, folder), key=lambda entry: entry["path"])
    listing = FolderListing(
        path=folder.shown,
        entries=entries[:MAX_LIST_ENTRIES],
        more=max(0, len(entries) - MAX_LIST_ENTRIES),
    )
    if listing["more"]:
        listing["note"] = (
            f"Showing {MAX_LIST_ENTRIES} of {len(entries)} entries; {listing['more']} more are not listed. "
            "List a subfolder, or use context_search, to narrow down."
        )
    return listing


def file_read(
    directory: ContextDirectory, path: str, start_line: int | None = None, end_line: int | None = None
) -> FileContent:
    """Lines ``start_line``..``end_line`` (1-based, inclusive; default the whole file) of a UTF-8
    text file, cut short at 64 KB with a note saying where to continue."""
    target = directory.resolve(path)
    lines = split_lines(read_text_file(target.real, target.shown))
    first, last = _line_range(len(lines), start_line, end_line)
    if last < first:  # an empty file
        return FileContent(
            path=target.shown, content="", startLine=0, endLine=0, totalLines=0, truncated=False
        )
    content, end, line_cut = _within_budget(lines, first, last)
    result = FileContent(
        path=target.shown,
        content=content,
        startLine=first,
        endLine=end,
        totalLines=len(lines),
        truncated=line_cut or end < last,
    )
    if result["truncated"]:
        result["note"] = _continuation_note(first, end, len(lines), line_cut=line_cut)
    return result


def _visible_entries(directory: ContextDirectory, folder: SandboxPath) -> Iterator[FileEntry]:
    try:
        with os.scandir(folder.real) as found:
            names = [entry.name for entry in found]
    except OSError:
        raise ToolError(f"'{folder.shown}' cannot be listed") from None
    for name in names:
        child = name if folder.shown == "." else f"{folder.shown}/{name}"
        try:
            # The sandbox's own check, so a link leading outside, to a hidden file or to an
            # ignored one is left out exactly as reading it would be refused.
            target = directory.resolve(child)
        except ToolError:
            continue
        entry = _entry(child, target.real)
        if entry is not None:
            yield entry


def _entry(shown: str, real: Path) -> FileEntry | None:
    try:
        info = real.stat()
    except OSError:  # a dangling link
        return None
    if stat.S_ISDIR(info.st_mode):
        return FileEntry(path=shown, type="directory")
    if stat.S_ISREG(info.st_mode):
        return FileEntry(path=shown, type="file", size=info.st_size)
    return None  # sockets, FIFOs, devices: nothing a tool can read


def _line_range(total: int, start_line: int | None, end_line: int | None) -> tuple[int, int]:
    first = 1 if start_line is None else start_line
    last = total if end_line is None else min(end_line, total)
    if first < 1 or (end_line is not None and end_line < 1):
        raise ToolError("line numbers start at 1")
    if end_line is not None and end_line < first:
        raise ToolError(f"end_line ({end_line}) is before start_line ({first})")
    if first > max(total, 1):
        raise ToolError(f"start_line {first} is past the end: the file has {total} lines")
    return first, last


def _within_budget(lines: list[str], first: int, last: int) -> tuple[str, int, bool]:
    """The whole lines from ``first`` that fit in MAX_READ_BYTES, the last line number included,
    and whether that line was itself cut (a first line longer than the whole budget)."""
    taken: list[str] = []
    used = 0
    for number in range(first, last + 1):
        size = len(lines[number - 1].encode("utf-8"))
        if used + size > MAX_READ_BYTES:
            break
        taken.append(lines[number - 1])
        used += size
    if not taken:
        head = lines[first - 1].encode("utf-8")[:MAX_READ_BYTES]
        return head.decode("utf-8", errors="ignore"), first, True
    return "".join(taken), first + len(taken) - 1, False


def _continuation_note(first: int, end: int, total: int, *, line_cut: bool) -> str:
    limit = f"{MAX_READ_BYTES // 1024} KB"
    if line_cut:
        note = f"Line {end} alone is longer than {limit}; only its beginning is shown."
    else:
        note = f"Cut at {limit}: lines {first}-{end} of {total} are shown."
    if end < total:
        note += f" Call file_read with start_line={end + 1} to continue."
    return note
