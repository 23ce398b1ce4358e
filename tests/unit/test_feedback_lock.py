"""A verdict given while a run saves the same debate JSON is not lost: the run's save (read the
kept verdict, write the record) and ``set_feedback`` exclude each other."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from dialectic.runner.feedback import kept_feedback, set_feedback
from dialectic.runner.store import debate_json_path
from dialectic.transcript.files import editing, write_atomic


def test_feedback_given_during_a_save_waits_for_it_and_is_kept(isolated: Path) -> None:
    path = debate_json_path("deb-1")
    write_atomic(path, json.dumps({"id": "deb-1", "status": "running"}))
    read, go = threading.Event(), threading.Event()

    def save() -> None:  # as DebateRun.save does it
        with editing(path):
            kept = kept_feedback(path)
            read.set()
            go.wait(60)
            write_atomic(path, json.dumps({"id": "deb-1", "status": "completed", "userFeedback": kept}))

    saver = threading.Thread(target=save)
    saver.start()
    assert read.wait(60)
    reader = threading.Thread(target=set_feedback, args=("deb-1", 1))
    reader.start()
    reader.join(0.3)
    assert reader.is_alive()  # it waits for the save, rather than being overwritten by it
    go.set()
    saver.join(60)
    reader.join(60)
    assert json.loads(path.read_text()) == {"id": "deb-1", "status": "completed", "userFeedback": 1}
