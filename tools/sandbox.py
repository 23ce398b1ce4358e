"""The context directory (``--context DIR``): the only part of the file system agent tools see.

A path from the model is checked twice. First as text: joined to the root (never the working
directory) and normalised, it must stay inside the root. Then on disk: with every symbolic link
resolved, it must still be inside. Checking the text first means ``..`` is never applied after
following a link, so the answer never depends on what lies outside the root. Any hidden component
(``.env``, ``.git/config``) and anything git ignores is refused, whichever way it was reached.

Messages only repeat what the model sent and never say whether something outside the root exists.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from dialectic.errors import InputError
from dialectic.tools.gitignore import IgnoreRules

# Far longer than any real path; refusing early keeps the OS from raising on absurd input.
_MAX_PATH_CHARS = 4096


class ToolError(Exception):
    """A tool call the model can correct; the message becomes the tool's error result."""


@dataclass(frozen=True)
class SandboxPath:
    """A path the tools may use: ``real`` is resolved and inside the root; ``shown`` is how the
    model names it (relative, POSIX separators, ``"."`` for the root itself)."""

    real: Path
    shown: str


class ContextDirectory:
    """The folder given with ``--context``, resolved once when the debate starts."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        given = Path(root).expanduser()
        try:
            real = given.resolve(strict=True)
        except (OSError, RuntimeError):
            raise InputError(f"--context {root}: no such folder") from None
        if not real.is_dir():
            raise InputError(f"--context {root}: not a folder")
        self.root = real
        # Absolute paths may also be spelled through the folder's name as the user gave it.
        self._aliases = (real, Path(os.path.abspath(given)))
        self._ignore_rules = IgnoreRules(real)

    def resolve(self, path: str) -> SandboxPath:
        """Map a path from the model to a real path inside the root, or raise ``ToolError``."""
        relative = self._lexical_relative(path)
        shown = relative.as_posix()
        self._refuse_hidden(relative, shown)
        real = Path(os.path.realpath(self.root / relative))
        real_relative = _relative_to(real, self.root)
        if real_relative is None:
            raise _outside(path)
        self._refuse_hidden(real_relative, shown)
        is_dir = _is_dir(real)
        if self.is_ignored(relative, is_dir=is_dir) or self.is_ignored(real_relative, is_dir=is_dir):
            raise ToolError(f"'{shown}' is excluded by .gitignore, so it is not available")
        return SandboxPath(real, shown)

    def is_visible(self, relative: PurePosixPath, *, is_dir: bool) -> bool:
        """Whether a path below the root (no ``..``) is neither hidden nor ignored."""
        return not _has_hidden_part(relative) and not self.is_ignored(relative, is_dir=is_dir)

    def is_ignored(self, relative: PurePosixPath, *, is_dir: bool) -> bool:
        """Whether git would ignore a path below the root, given as relative with no ``..``."""
        return self._ignore_rules.is_ignored(relative, is_dir=is_dir)

    def _lexical_relative(self, path: str) -> PurePosixPath:
        if not isinstance(path, str) or not path.strip():
            raise ToolError("path is empty: give a path relative to the context directory ('.' is its top)")
        if "\x00" in path or len(path) > _MAX_PATH_CHARS:
            raise ToolError("path is not a valid file name")
        candidate = Path(path)
        bases = self._aliases if candidate.is_absolute() else (self.root,)
        for base in bases:
            relative = _relative_to(Path(os.path.normpath(base / candidate)), base)
            if relative is not None:
                return relative
        raise _outside(path)

    @staticmethod
    def _refuse_hidden(relative: PurePosixPath, shown: str) -> None:
        if _has_hidden_part(relative):
            raise ToolError(
                f"'{shown}' is hidden: files and folders whose names start with '.', and links to them, "
                "are not available"
            )


def _relative_to(path: Path, base: Path) -> PurePosixPath | None:
    try:
        return PurePosixPath(*path.relative_to(base).parts)
    except ValueError:
        return None


def _has_hidden_part(relative: PurePosixPath) -> bool:
    return any(part.startswith(".") for part in relative.parts)


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:
        return False


def _outside(path: str) -> ToolError:
    return ToolError(
        f"'{path}' is outside the context directory: use a path relative to it, "
        "such as 'src/main.py' ('.' is its top)"
    )
