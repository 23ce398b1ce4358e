"""Figures for checkpoints (not a test).

    python bench/checkpoints.py

1. Store size: a 3-agent debate of 3 and of 10 rounds (offline model), SQLite file size and the
   bytes of checkpoint blobs and pending writes, to watch for quadratic growth.
2. Kill and resume: for several kill points, the calls made across both processes against an
   uninterrupted run (repeated calls), and the time from starting `dialectic resume` to its first
   LLM call.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROBLEM = "Design a job scheduler. It must run 1,000 jobs per minute. Jobs must never run twice."
EXE = str(Path(sys.executable).parent / "dialectic")


def run(folder: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([EXE, *args], cwd=folder, env=env, capture_output=True, text=True, check=False)


def store_size(folder: Path, rounds: int) -> tuple[int, int, int]:
    db = folder / f"size-{rounds}.sqlite"
    done = run(folder, "debate", "--offline", "-r", str(rounds), "--db", str(db), PROBLEM)
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        blobs = conn.execute(
            "SELECT COALESCE(SUM(LENGTH(checkpoint)), 0), COUNT(*) FROM checkpoints"
        ).fetchone()
        writes = conn.execute("SELECT COALESCE(SUM(LENGTH(value)), 0) FROM writes").fetchone()[0]
    return db.stat().st_size, blobs[0] + writes, blobs[1]


def events(log: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def ends(items: list[dict[str, object]]) -> int:
    return sum(1 for e in items if e["event"] == "end")


def starts(items: list[dict[str, object]]) -> int:
    return sum(1 for e in items if e["event"] == "start")


def kill_and_resume(folder: Path, name: str, when, reference_calls: int) -> tuple[int, float]:
    log = folder / f"{name}.jsonl"
    db = folder / f"{name}.sqlite"
    env = dict(os.environ, DIALECTIC_OFFLINE_CALL_LOG=str(log), DIALECTIC_OFFLINE_LATENCY_MS="150")
    process = subprocess.Popen(
        [EXE, "debate", "--offline", "-r", "2", "--id", name, "--db", str(db), PROBLEM],
        cwd=folder,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    while not when(events(log)):
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.wait()
    before = len(events(log))
    started = time.time()
    resumed = run(folder, "resume", name, "--db", str(db), env=env)
    assert resumed.returncode == 0, resumed.stderr
    first_new = next(float(e["time"]) for e in events(log)[before:] if e["event"] == "start")  # type: ignore[arg-type]
    # Calls paid for twice: every call started (the killed process's in-flight ones included)
    # beyond what an uninterrupted run makes.
    return starts(events(log)) - reference_calls, first_new - started


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        print("store size (3 agents, offline model):")
        for rounds in (3, 10):
            size, payload, count = store_size(folder, rounds)
            print(
                f"  {rounds:>2} rounds: file {size / 1e6:.2f} MB; checkpoint blobs + writes {payload / 1e6:.2f} MB in {count} checkpoints"
            )

        log = folder / "ref.jsonl"
        env = dict(os.environ, DIALECTIC_OFFLINE_CALL_LOG=str(log))
        assert (
            run(
                folder, "debate", "--offline", "-r", "2", "--db", str(folder / "ref.sqlite"), PROBLEM, env=env
            ).returncode
            == 0
        )
        reference = ends(events(log))
        points = {
            "inside round 1 proposals": lambda ev: ends(ev) >= 1,
            "between proposals and critiques": lambda ev: ends(ev) >= 3,
            "inside round 1 critiques": lambda ev: ends(ev) >= 6,
            "at the end of round 1": lambda ev: ends(ev) >= 12,
            "inside round 2 critiques": lambda ev: ends(ev) >= 15,
            "during synthesis": lambda ev: any(
                e["event"] == "start" and e["phase"] == "synthesize" for e in ev
            ),
        }
        print(f"kill -9 and resume (3 agents x 2 rounds, {reference} calls uninterrupted, 150 ms per call):")
        for index, (point, when) in enumerate(points.items()):
            repeated, to_first = kill_and_resume(folder, f"k{index}", when, reference)
            print(f"  {point:<32} calls made twice {repeated}; resume to first new call {to_first:.2f} s")


if __name__ == "__main__":
    main()
