"""Output paths (``-o``, ``--report``), checked before a debate or an evaluation spends anything:
a path we could not write at the end would waste every call made before it, and a path that is
the checkpoint store would replace every debate's checkpoints with a solution text.

A symbolic link is refused rather than written through or replaced: the link's target may be
anything (another user's file, the store), and replacing the link silently would surprise the
user who made it. Give the real path instead.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from dialectic.errors import InputError
from dialectic.runner.store import db_url, is_postgres

_STORE_COMPANIONS = ("", "-wal", "-shm", "-journal")  # SQLite's files for one database


def check_output(target: str | Path, option: str, *, db: str | None = None) -> Path:
    """``target`` as a Path if it can be written as a new or replaced regular file, else an
    ``InputError`` (exit 2) naming ``option`` and what is wrong. ``db`` is the ``--db`` value:
    the store it names (or the default one) and its lock folder are never an output."""
    path = Path(target)
    where = f"{option} {target}"
    if path.is_symlink():
        raise InputError(
            f"{where} is a symbolic link; give the path of a real file (outputs are never written through links)"
        )
    if path.exists():
        mode = path.stat().st_mode
        if stat.S_ISDIR(mode):
            raise InputError(f"{where} is a directory; give a file path (for example {path / 'out.md'})")
        if not stat.S_ISREG(mode):
            raise InputError(f"{where} is not a regular file (a device or a pipe); give a file path")
        if not os.access(path, os.W_OK):
            raise InputError(f"{where} is read-only; give another path or make it writable")
    _check_folder(path, where)
    _check_not_store(path, where, db)
    return path


def _check_folder(path: Path, where: str) -> None:
    """The nearest existing folder above ``path`` must be a folder we may create files in."""
    ancestor = path.absolute().parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise InputError(f"{where}: {ancestor} is a file, not a folder; give a path in a folder")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise InputError(f"{where}: cannot create files in {ancestor} (not writable); give another path")


def _check_not_store(path: Path, where: str, db: str | None) -> None:
    url = db_url(db)
    if is_postgres(url):
        return
    store = Path(url)
    locks = Path(url + ".locks").resolve()
    resolved = path.resolve()
    if any(_same(path, Path(url + suffix)) for suffix in _STORE_COMPANIONS) or locks in resolved.parents:
        raise InputError(
            f"{where} is the checkpoint store {store.resolve()} (or one of its files): writing there "
            "would destroy every debate's checkpoints; give another path"
        )


def _same(path: Path, other: Path) -> bool:
    if path.resolve() == other.resolve():
        return True
    try:
        return os.path.samefile(path, other)  # a hard link, or a path through a bind mount
    except OSError:  # one of them is not there: different files
        return False
