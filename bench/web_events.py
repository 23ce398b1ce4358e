"""Figures for `dialectic serve` (not a test): event latency and server memory.

    python bench/web_events.py [--debates 10] [--viewers 50] [--latency-ms 50] [--finished 100]

1. Latency: `dialectic serve --offline` in a fresh folder; `--debates` debates (2 rounds) start
   at once, watched by `--viewers` server-sent-event clients spread over them. For every
   `call_finished` event (the moment a node's LLM call finished, stamped by the server when
   the runner hands it over) a viewer notes when it arrived: p50/p95/max in milliseconds.
2. Memory: `--finished` one-round debates run through the server, then a fresh server lists them
   (GET /api/debates, then the page's view of one): its resident memory (VmRSS, peak VmHWM).

Timings are wall-clock on this machine (client and server share its cores).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

PROBLEM = "Design a rate limiter for a public API; it must allow 100 requests per second per key."


def serve(folder: Path, latency_ms: int) -> tuple[subprocess.Popen[bytes], str]:
    log = folder / f"serve-{time.monotonic_ns()}.err"
    env = {**os.environ, "DIALECTIC_OFFLINE_LATENCY_MS": str(latency_ms)}
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "dialectic"), "serve", "--offline", "--port", "0"],
        cwd=folder,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=log.open("w"),
    )
    while "serving on " not in log.read_text():
        if process.poll() is not None:
            raise SystemExit(log.read_text())
        time.sleep(0.05)
    return process, log.read_text().split("serving on ", 1)[1].split()[0]


def watch(url: str, debate_id: str, delays: list[float], lock: threading.Lock) -> None:
    with (
        httpx.Client(base_url=url, timeout=600) as client,
        client.stream("GET", f"/api/debates/{debate_id}/events") as stream,
    ):
        for line in stream.iter_lines():
            if not line.startswith("data:"):
                continue
            event = json.loads(line[5:])
            if event["event"] == "call_finished":
                with lock:
                    delays.append((time.time() - event["at"]) * 1000)


def latency(folder: Path, debates: int, viewers: int, latency_ms: int) -> None:
    process, url = serve(folder, latency_ms)
    try:
        with httpx.Client(base_url=url, timeout=60) as client:
            ids = [
                client.post("/api/debates", json={"problem": PROBLEM, "rounds": 2}).json()["id"]
                for _ in range(debates)
            ]
        delays: list[float] = []
        lock = threading.Lock()
        threads = [
            threading.Thread(target=watch, args=(url, ids[i % debates], delays, lock)) for i in range(viewers)
        ]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        took = time.monotonic() - started
        # Viewers that connect after a debate's first events get them from the backlog: count
        # only what arrived live (the backlog's replay is not latency).
        live = sorted(d for d in delays if d < 5000)
        q = statistics.quantiles(live, n=100)
        print(
            f"{debates} debates x 2 rounds at once, {viewers} viewers, offline latency {latency_ms} ms: "
            f"{len(delays)} call_finished deliveries ({len(delays) - len(live)} replayed) in {took:.1f}s; "
            f"node finished -> viewer received: p50 {q[49]:.1f} ms, p95 {q[94]:.1f} ms, max {live[-1]:.1f} ms"
        )
    finally:
        process.terminate()
        process.wait(120)


def memory(folder: Path, finished: int) -> None:
    process, url = serve(folder, 0)
    with httpx.Client(base_url=url, timeout=600) as client:
        for start in range(0, finished, 10):
            ids = [
                client.post("/api/debates", json={"problem": f"{PROBLEM} ({n})", "rounds": 1}).json()["id"]
                for n in range(start, min(finished, start + 10))
            ]
            for debate_id in ids:
                with client.stream("GET", f"/api/debates/{debate_id}/events") as stream:
                    for _ in stream.iter_lines():
                        pass
    process.terminate()
    process.wait(120)
    process, url = serve(folder, 0)
    try:
        idle = _rss(process.pid)
        with httpx.Client(base_url=url, timeout=600) as client:
            started = time.monotonic()
            rows = client.get("/api/debates").json()
            listed = time.monotonic() - started
            client.get(f"/api/debates/{rows[0]['id']}")
        rss, peak = _rss(process.pid)
        print(
            f"{len(rows)} finished debates listed in {listed * 1000:.0f} ms: server memory {rss / 1024:.0f} MB "
            f"(peak {peak / 1024:.0f} MB; {idle[0] / 1024:.0f} MB before the first request)"
        )
    finally:
        process.terminate()
        process.wait(120)


def _rss(pid: int) -> tuple[int, int]:
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line
    )
    return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--debates", type=int, default=10)
    parser.add_argument("--viewers", type=int, default=50)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--finished", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as first:
        latency(Path(first), args.debates, args.viewers, args.latency_ms)
    with tempfile.TemporaryDirectory() as second:
        memory(Path(second), args.finished)


if __name__ == "__main__":
    main()
