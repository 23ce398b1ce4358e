"""Text files and snippets: the rules ``file_read`` and the search index share.

A file counts as text when it is a regular file of at most ``MAX_FILE_BYTES``, has no NUL byte in
its first ``BINARY_SNIFF_BYTES`` (git's own test for binary) and decodes as UTF-8. Lines end at
``"\\n"`` only, so a line number means the same in ``file_read``, in search hits and in an editor.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import BinaryIO

from dialectic.tools.sandbox import ToolError

MAX_FILE_BYTES = 5 * 1024 * 1024
BINARY_SNIFF_BYTES = 8 * 1024

# Opening a FIFO for reading would block until a writer appears; a link swapped in after the
# sandbox check must not be followed. Both flags are POSIX-only, hence the fallbacks.
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0)
_WHITESPACE = re.compile(r"\s+")


def read_text_file(real: Path, shown: str) -> str:
    """The text of a file already checked by the sandbox; ``ToolError`` if it is not text."""
    with _open_regular_file(real, shown) as handle:
        size = os.fstat(handle.fileno()).st_size
        if size > MAX_FILE_BYTES:
            raise _too_large(shown, size)
        # Read one byte past the limit in case the file grew after fstat.
        data = handle.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise _too_large(shown, len(data))
    if b"\x00" in data[:BINARY_SNIFF_BYTES]:
        raise ToolError(f"'{shown}' is a binary file; only text files can be read")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ToolError(
            f"'{shown}' is not UTF-8 text (probably binary); only text files can be read"
        ) from None
    return text.removeprefix("\ufeff")


def split_lines(text: str) -> list[str]:
    """The lines of ``text``, each keeping its ``"\\n"``; a final newline starts no extra line."""
    pieces = text.split("\n")
    lines = [piece + "\n" for piece in pieces[:-1]]
    if pieces[-1]:
        lines.append(pieces[-1])
    return lines


def snippet_around(text: str, start: int, end: int, radius: int) -> str:
    """``text[start:end]`` with up to ``radius`` characters either side, whitespace collapsed and
    ``…`` where the text was cut."""
    left = max(0, start - radius)
    right = min(len(text), end + radius)
    inner = _WHITESPACE.sub(" ", text[left:right]).strip()
    return ("…" if left > 0 else "") + inner + ("…" if right < len(text) else "")


def _open_regular_file(real: Path, shown: str) -> BinaryIO:
    try:
        descriptor = os.open(real, _OPEN_FLAGS)
    except (FileNotFoundError, NotADirectoryError):
        raise ToolError(f"there is no file '{shown}'; list_files shows what exists") from None
    except IsADirectoryError:
        raise _folder_not_file(shown) from None
    except OSError as error:
        raise ToolError(f"'{shown}' cannot be read ({error.strerror or 'error'})") from None
    mode = os.fstat(descriptor).st_mode
    if not stat.S_ISREG(mode):
        os.close(descriptor)
        if stat.S_ISDIR(mode):
            raise _folder_not_file(shown)
        raise ToolError(f"'{shown}' is not a regular file")
    return os.fdopen(descriptor, "rb")


def _folder_not_file(shown: str) -> ToolError:
    return ToolError(f"'{shown}' is a folder, not a file; use list_files to see what it holds")


def _too_large(shown: str, size: int) -> ToolError:
    return ToolError(
        f"'{shown}' is {size:,} bytes, over the {MAX_FILE_BYTES // (1024 * 1024)} MB limit for reading files"
    )
