"""A verdict given while a run saves the same debate JSON is not lost: the run's save (read the
kept verdict, write the record) and ``set_feedback`` exclude each other."""

from __future__ import annotations

import errno
import fcntl
import json
import os
import threading
from pathlib import Path

import pytest

from dialectic.runner.feedback import kept_feedback, set_feedback
from dialectic.runner.store import debate_json_path
from dialectic.transcript.files import editing, write_atomic


def _locked_by_someone(folder: Path) -> bool:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def test_a_run_saves_its_json_holding_the_lock(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """DebateRun.save itself: every write of the debate JSON happens under ``editing``."""
    from dialectic.runner import feedback

    sys_path = Path(__file__).resolve().parents[1] / "graph"
    monkeypatch.syspath_prepend(str(sys_path))
    from test_human_in_the_loop import Harness, make_settings

    held: list[bool] = []
    write = feedback.write_record

    def checked(path: Path, record: object) -> None:
        held.append(_locked_by_someone(path.parent))
        write(path, record)  # type: ignore[arg-type]

    monkeypatch.setattr(feedback, "write_record", checked)
    debate_json_path("hitl-1").parent.mkdir()  # (a folder not there yet is not locked: nothing races)
    result = Harness(make_settings(clarify=False)).start()
    assert result.status == "completed", result.message
    assert held and all(held)


def test_feedback_waits_for_a_save_in_progress_and_is_kept(isolated: Path) -> None:
    path = debate_json_path("deb-1")
    write_atomic(path, json.dumps({"id": "deb-1", "status": "running"}))
    read, go = threading.Event(), threading.Event()

    def save() -> None:  # as DebateRun.save does it (the test above checks that it does)
        with editing(path):
            kept = kept_feedback(path)
            read.set()
            go.wait(60)
            write_atomic(path, json.dumps({"id": "deb-1", "status": "completed", "userFeedback": kept}))

    saver = threading.Thread(target=save)
    saver.start()
    assert read.wait(60)
    assert _locked_by_someone(path.parent)
    reader = threading.Thread(target=set_feedback, args=("deb-1", 1))
    reader.start()
    go.set()
    saver.join(60)
    reader.join(60)
    # Unlocked, the feedback could land before the save and be overwritten by it.
    assert json.loads(path.read_text()) == {"id": "deb-1", "status": "completed", "userFeedback": 1}


def test_a_folder_that_cannot_be_locked_is_edited_unlocked(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(fd: int, operation: int) -> None:  # as NFS refuses a folder opened for reading
        raise OSError(errno.EBADF, "Bad file descriptor")

    monkeypatch.setattr(fcntl, "flock", refuse)
    path = debate_json_path("deb-2")
    write_atomic(path, json.dumps({"id": "deb-2"}))
    set_feedback("deb-2", -1)
    assert json.loads(path.read_text())["userFeedback"] == -1
