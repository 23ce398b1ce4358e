"""Output paths checked before any call, private files, lock files never followed through a
link, and stores read without being written (issue 11, items 4, 5, 7 and 12).

Through the installed ``dialectic`` command. As root, file permissions do not stop a write, so
"unwritable" is tested with a path under a regular file and, where the machine lets us make a
mount namespace, a read-only bind mount; the chmod test runs only as another user.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

PROBLEM = "Design a cache. It must serve 100 reads per second."
STORE = Path("debates") / "dialectic.sqlite"
ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    """The command inherits our umask: the common 022, under which files used to come out 0644."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


@pytest.fixture
def calls(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[], int]:
    """How many calls the offline model has made (its call log, shared by every command here)."""
    log = isolated.parent / f"{isolated.name}-calls.jsonl"
    monkeypatch.setenv("DIALECTIC_OFFLINE_CALL_LOG", str(log))
    return lambda: len(log.read_text().splitlines()) if log.exists() else 0


def one_error(result) -> str:
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in result.stderr, result.stderr
    return errors[0]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def finished_debate(cli, debate_id: str = "a1", *extra: str) -> None:
    result = cli("debate", "--offline", "-r", "1", "--id", debate_id, PROBLEM, *extra)
    assert result.code == 0, result.stderr


# --- item 7: outputs checked before the first call ---------------------------------------------


def test_output_that_is_the_store_is_refused_and_the_store_is_intact(cli, isolated, calls):
    finished_debate(cli)
    before, made = digest(isolated / STORE), calls()
    os.link(isolated / STORE, isolated / "hard.sqlite")  # the same file under another name
    attempts = [
        ("debate", "--offline", "-o", str(STORE), PROBLEM),
        ("debate", "--offline", "--report", str(STORE), PROBLEM),
        ("debate", "--offline", "-o", f"{STORE}-wal", PROBLEM),
        ("debate", "--offline", "-o", "debates/./dialectic.sqlite", PROBLEM),
        ("debate", "--offline", "-o", "hard.sqlite", PROBLEM),
        ("debate", "--offline", "-o", "debates/dialectic.sqlite.locks/x.md", PROBLEM),
        ("resume", "a1", "-o", str(STORE)),
        ("report", "--debate", "a1", "-o", str(STORE)),
        ("graph", "-o", str(STORE)),
    ]
    for args in attempts:
        result = cli(*args)
        assert result.code == 2, (args, result.stderr)
        assert "checkpoint store" in one_error(result), args
    assert digest(isolated / STORE) == before and calls() == made
    assert [row["id"] for row in json.loads(cli("list", "--json").stdout)] == ["a1"]


def test_store_named_by_db_is_protected_too(cli, isolated, calls):
    result = cli("debate", "--offline", "--db", "elsewhere/s.sqlite", "-o", "elsewhere/s.sqlite", PROBLEM)
    assert result.code == 2 and "checkpoint store" in one_error(result)
    assert not (isolated / "elsewhere").exists() and calls() == 0


@pytest.mark.parametrize(
    ("files", "target", "names"),
    [
        ({"out/x": ""}, "out", "is a directory"),
        ({"f.txt": "x"}, "f.txt/result.md", "f.txt is a file, not a folder"),
        ({}, "link.md", "symbolic link"),
    ],
    ids=["a folder", "under a regular file", "a symlink"],
)
def test_bad_output_paths_of_every_command_fail_before_any_call(cli, isolated, calls, files, target, names):
    finished_debate(cli)
    made = calls()
    for name, text in files.items():
        (isolated / name).parent.mkdir(parents=True, exist_ok=True)
        (isolated / name).write_text(text)
    (isolated / "t.md").write_text("keep me")
    (isolated / "link.md").symlink_to("t.md")
    (isolated / "e.json").write_text(
        json.dumps({"agents": [{"id": "e1", "name": "E", "model": "m", "provider": "offline"}]})
    )
    at = json.loads(cli("show", "a1", "--json", "--history").stdout)["checkpoints"][1]["checkpoint"]
    for args in [
        ("debate", "--offline", "-o", target, PROBLEM),
        ("debate", "--offline", "--report", target, PROBLEM),
        ("resume", "a1", "--report", target),
        ("fork", "a1", "--at", at, "--offline", "-o", target),
        ("report", "--debate", "a1", "-o", target),
        ("graph", "-o", target),
        ("eval", "-c", "e.json", "-d", "debates/a1.json", "--offline", "-o", target),
    ]:
        result = cli(*args)
        assert result.code == 2, (args, result.stderr)
        assert names in one_error(result) and target.split("/")[0] in one_error(result), args
    assert calls() == made
    assert (isolated / "t.md").read_text() == "keep me"  # a link's target is never written
    assert [row["id"] for row in json.loads(cli("list", "--json").stdout)] == ["a1"]  # no debate began


def test_output_on_a_read_only_mount_is_refused_before_any_call(cli, isolated, calls):
    (isolated / "ro").mkdir()
    result = read_only_mount(isolated / "ro", "debate", "--offline", "-o", "ro/solution.md", PROBLEM)
    assert result.returncode == 2 and "not writable" in result.stderr and "ro" in result.stderr
    assert calls() == 0 and not (isolated / "debates").exists()


# --- item 5: private files; item 4: lock files ---------------------------------------------------


def test_what_a_debate_creates_is_private(cli, isolated):
    finished_debate(
        cli, "a1", "-o", "out/solution.md", "--report", "out/report.md", "--db", "s/t/store.sqlite"
    )
    result = cli("report", "--debate", "a1", "-o", "later/report.md")
    assert result.code == 0, result.stderr
    files = [
        "out/solution.md",
        "out/report.md",
        "later/report.md",
        "debates/a1.json",
        "s/t/store.sqlite",
        "s/t/store.sqlite.locks/a1.lock",
    ]
    folders = ["out", "later", "debates", "s", "s/t", "s/t/store.sqlite.locks"]
    assert {name: oct(mode(isolated / name)) for name in files} == {name: "0o600" for name in files}
    assert {name: oct(mode(isolated / name)) for name in folders} == {name: "0o700" for name in folders}


def test_replacing_an_existing_output_keeps_the_mode_its_owner_gave_it(cli, isolated):
    (isolated / "shared.md").write_text("old")
    (isolated / "shared.md").chmod(0o644)
    finished_debate(cli, "a1", "-o", "shared.md")
    assert mode(isolated / "shared.md") == 0o644 and (isolated / "shared.md").read_text() != "old"


def test_a_symlinked_lock_file_is_refused_and_its_target_untouched(cli, isolated, calls):
    finished_debate(cli)
    locks = isolated / "debates" / "dialectic.sqlite.locks"
    victim = isolated / "victim.txt"
    victim.write_text("precious")
    (locks / "a1.lock").unlink()
    (locks / "a1.lock").symlink_to(victim)
    (locks / "a2.lock").symlink_to(victim)  # planted before a debate with that id starts
    made = calls()
    for args in [("resume", "a1"), ("debate", "--offline", "--id", "a2", PROBLEM), ("show", "a1")]:
        result = cli(*args)
        assert result.code == 2, (args, result.stderr)
        assert "a1.lock is a symbolic link" in one_error(result) or "a2.lock is a symbolic link" in one_error(
            result
        )
    assert victim.read_text() == "precious" and calls() == made


# --- item 12: stores read without being written ----------------------------------------------


def test_list_show_and_report_leave_the_store_byte_for_byte_as_it_was(cli, isolated):
    finished_debate(cli)
    folder = isolated / "debates"
    names, before, stamp = sorted(os.listdir(folder)), digest(isolated / STORE), (isolated / STORE).stat()
    for args in [("list",), ("list", "--json"), ("show", "a1", "--history"), ("report", "--debate", "a1")]:
        assert cli(*args).code == 0, args
    assert sorted(os.listdir(folder)) == names  # no journal, WAL or lock file left behind
    assert digest(isolated / STORE) == before and (isolated / STORE).stat().st_mtime_ns == stamp.st_mtime_ns


def test_a_store_that_is_not_there_is_not_created(cli, isolated):
    listed = cli("list", "--db", "typo/x.sqlite")
    assert listed.code == 2 and "no debates store at" in one_error(listed) and "typo" in one_error(listed)
    for args in [("show", "nope"), ("resume", "nope"), ("fork", "nope", "--at", "x")]:
        result = cli(*args)
        assert result.code == 2 and "no debate 'nope'" in one_error(result), (args, result.stderr)
    assert cli("list").code == 2  # the default store, from a folder that has none
    assert sorted(os.listdir(isolated)) == []


def test_stores_that_are_not_stores_are_named(cli, isolated):
    (isolated / "folder.sqlite").mkdir()
    (isolated / "text.sqlite").write_text("not a database\n" * 100)
    (isolated / "f.txt").write_text("x")
    for db, says in [
        ("folder.sqlite", "folder.sqlite is a directory"),
        ("text.sqlite", "text.sqlite is not a Dialectic checkpoint store"),
        ("f.txt/s.sqlite", "f.txt/s.sqlite"),
    ]:
        for args in [("list", "--db", db), ("debate", "--offline", "--db", db, PROBLEM)]:
            result = cli(*args)
            assert result.code == 2 and says in one_error(result), (args, result.stderr)
    assert not (isolated / "debates").exists()


def test_an_empty_store_file_lists_nothing_and_stays_empty(cli, isolated):
    (isolated / "empty.sqlite").write_bytes(b"")
    result = cli("list", "--db", "empty.sqlite")
    assert result.code == 0 and "no debates in this store yet" in result.stderr
    assert (isolated / "empty.sqlite").read_bytes() == b""


def test_read_only_store_can_be_read_not_written(cli, isolated):
    """A store nobody may write: for a user, a read-only file in a read-only folder; for root,
    whom file modes do not stop, the folder bind-mounted read-only."""
    finished_debate(cli)
    folder = isolated / "debates"
    if ROOT:

        def run(*args: str):
            done = read_only_mount(folder, *args)
            return Result(done.returncode, done.stdout, done.stderr)

        check_read_only_store(run)
        return
    for path in folder.rglob("*"):
        path.chmod(0o555 if path.is_dir() else 0o444)
    folder.chmod(0o555)
    try:
        check_read_only_store(cli)
    finally:
        for path in [folder, *folder.rglob("*")]:
            path.chmod(0o700)


class Result:
    def __init__(self, code: int, stdout: str, stderr: str) -> None:
        self.code, self.stdout, self.stderr = code, stdout, stderr


def check_read_only_store(run) -> None:
    listed = run("list", "--json")
    assert listed.code == 0, listed.stderr
    assert [row["id"] for row in json.loads(listed.stdout)] == ["a1"]
    shown = run("show", "a1")
    assert shown.code == 0 and shown.stdout.startswith("debate a1: completed"), shown.stderr
    assert run("report", "--debate", "a1").stdout.startswith("# Debate:")
    for args in [("debate", "--offline", PROBLEM), ("resume", "a1")]:
        result = run(*args)
        assert result.code == 2, (args, result.stderr)
        line = one_error(result)
        assert "dialectic.sqlite is not writable" in line and "--db" in line


def read_only_mount(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the command with ``folder`` bind-mounted read-only in a private mount namespace
    (root only, and only where the container allows it: else the test is skipped)."""
    if not ROOT or not shutil.which("unshare"):
        pytest.skip("a read-only bind mount needs root and unshare")
    where = shlex.quote(str(folder))
    mount = f"mount --bind {where} {where} && mount -o remount,ro,bind {where}"
    probe = subprocess.run(["unshare", "--mount", "sh", "-c", mount], capture_output=True, timeout=60)
    if probe.returncode != 0:
        pytest.skip(f"cannot make a read-only mount here: {probe.stderr.decode().strip()}")
    command = shlex.join([str(Path(sys.executable).parent / "dialectic"), *args])
    script = f"{mount} && exec {command}"
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run(
        ["unshare", "--mount", "sh", "-c", script],
        cwd=folder.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_symlinked_lock_folder_is_refused(cli, isolated):
    elsewhere = isolated / "elsewhere"
    elsewhere.mkdir()
    (isolated / "debates").mkdir()
    (isolated / "debates" / "dialectic.sqlite.locks").symlink_to(elsewhere)
    result = cli("debate", "--offline", "-r", "1", "--id", "l1", PROBLEM)
    assert result.code == 2, result.stderr
    assert "lock folder" in one_error(result) and "symbolic link" in one_error(result)
    assert list(elsewhere.iterdir()) == []  # nothing created through the link
