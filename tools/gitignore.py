"""Which paths under the context directory git would ignore.

Git's rules, applied to paths relative to the context directory:

* every folder may hold a ``.gitignore``; its patterns are relative to that folder;
* a deeper ``.gitignore`` overrides a shallower one (so ``!keep.log`` in ``logs/`` re-includes a
  file the top-level file ignores), and ``.git/info/exclude`` at the top has the lowest precedence;
* git never looks inside an ignored folder, so nothing below one can be re-included.

The matching itself is ``pathspec.GitIgnoreSpec``. Only files inside the context directory count:
the user chose that folder, so a repository's ``.gitignore`` above it (which may even ignore the
folder itself) is not consulted.
"""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path, PurePosixPath

from pathspec import GitIgnoreSpec

# A .gitignore bigger than this is not a list of patterns anyone wrote by hand; skip it rather than
# spend memory on it.
_MAX_IGNORE_FILE_BYTES = 1024 * 1024


class IgnoreRules:
    """The ``.gitignore`` files of one folder tree, read lazily and cached per folder.

    The cache is never invalidated: the rules are those in force when a folder was first consulted,
    which is what a debate lasting minutes needs. Safe to use from several threads.
    """

    def __init__(self, root: Path) -> None:
        self._root = root
        self._specs: dict[tuple[str, ...], GitIgnoreSpec | None] = {}
        self._lock = threading.Lock()
        # The repository's own untracked excludes, when the root is a repository's top.
        self._exclude = _load_spec(root / ".git" / "info" / "exclude")

    def is_ignored(self, relative: PurePosixPath, *, is_dir: bool) -> bool:
        """Whether git would ignore ``relative`` (a path below the root, without ``..``)."""
        parts = relative.parts
        for depth in range(1, len(parts) + 1):
            # Every ancestor is a folder; an ignored one hides everything below it.
            prefix_is_dir = is_dir or depth < len(parts)
            if self._decides_ignored(parts[:depth], is_dir=prefix_is_dir):
                return True
        return False

    def _decides_ignored(self, parts: tuple[str, ...], *, is_dir: bool) -> bool:
        # The deepest .gitignore with a matching pattern wins; patterns see the path relative to
        # the folder holding them, with a trailing "/" marking a folder (as git does).
        for base in range(len(parts) - 1, -1, -1):
            spec = self._spec_for(parts[:base])
            if spec is None:
                continue
            below = "/".join(parts[base:]) + ("/" if is_dir else "")
            decision = spec.check_file(below).include
            if decision is not None:
                return decision
        if self._exclude is not None:
            below = "/".join(parts) + ("/" if is_dir else "")
            return bool(self._exclude.check_file(below).include)
        return False

    def _spec_for(self, folder: tuple[str, ...]) -> GitIgnoreSpec | None:
        with self._lock:
            if folder not in self._specs:
                self._specs[folder] = _load_spec(self._root.joinpath(*folder, ".gitignore"))
            return self._specs[folder]


def _load_spec(path: Path) -> GitIgnoreSpec | None:
    lines = _read_pattern_lines(path)
    return GitIgnoreSpec.from_lines(lines) if lines else None


def _read_pattern_lines(path: Path) -> list[str]:
    # Like git (since 2.32), a .gitignore that is a symbolic link is not followed.
    try:
        info = os.lstat(path)
    except OSError:
        return []
    if not stat.S_ISREG(info.st_mode) or info.st_size > _MAX_IGNORE_FILE_BYTES:
        return []
    try:
        text = path.read_bytes().decode("utf-8", errors="replace")
    except OSError:
        return []
    return text.splitlines()
