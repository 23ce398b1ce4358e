"""Figures for `dialectic batch` run locally (not a test): debates per minute with --parallel 1, 4
and 16, the installed command against the project's OpenAI-compatible test server
(tests/http/llm_server.py, started in this process) answering every call after a fixed latency.

    python bench/batch_local.py [--parallel 1,4,16] [--latency-ms 300] [--problems 4] [--repeats 4]

The sweep: `--problems` small problems × one debate arm (2 agents, 1 round, provider `openai` at
the test server) × `--repeats`, no evaluator and no baseline (only debates are timed). Each
--parallel value runs the whole sweep in a fresh folder and store. Printed per value: wall time
of the process (spawn to exit), the LLM span (first request's arrival to the last reply's end),
debates per minute over each, the most chat completions in flight at once, and calls made.

Timings are wall-clock on this machine: on a loaded one, take the median of a few invocations.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from whole_process import client_env, dialectic_executable, load_server, max_in_flight

CONFIG = {
    "agents": [
        {
            "id": "architect",
            "name": "Architect",
            "role": "architect",
            "model": "gpt-4o-mini",
            "provider": "openai",
        },
        {"id": "kiss", "name": "Simplicity", "role": "kiss", "model": "gpt-4o-mini", "provider": "openai"},
    ],
    "judge": {
        "id": "judge",
        "name": "Judge",
        "role": "generalist",
        "model": "gpt-4o-mini",
        "provider": "openai",
    },
    "debate": {"rounds": 1},
}
TOPICS = (
    "rate limiter",
    "URL shortener",
    "job scheduler",
    "chat service",
    "feature flag service",
    "search index",
)


def write_sweep(folder: Path, problems: int, repeats: int) -> Path:
    (folder / "problems").mkdir(parents=True)
    for index in range(problems):
        topic = TOPICS[index % len(TOPICS)]
        (folder / "problems" / f"p{index + 1}.md").write_text(
            f"Design a {topic} (variant {index + 1}). It must serve 1,000 requests per second.\n"
        )
    (folder / "config.json").write_text(json.dumps(CONFIG))
    sweep = folder / "sweep.yaml"
    sweep.write_text(
        f"name: bench\nproblems: [problems/]\nbase: config.json\nrepeats: {repeats}\narms: [{{name: pair}}]\n"
    )
    return sweep


def run(
    llm_server: object, folder: Path, parallel: int, latency_ms: float, problems: int, repeats: int
) -> None:
    sweep = write_sweep(folder, problems, repeats)
    server = llm_server.LLMServer(latency_ms=latency_ms, reply_tokens=200).start()  # type: ignore[attr-defined]
    try:
        spawned = time.time()
        done = subprocess.run(
            [
                dialectic_executable(),
                "batch",
                str(sweep),
                "--parallel",
                str(parallel),
                "--db",
                str(folder / "b.sqlite"),
            ],
            cwd=folder,
            env=client_env(server),
            capture_output=True,
            text=True,
        )
        exited = time.time()
        calls = server.requests("/chat/completions")
    finally:
        server.stop()
    if done.returncode != 0:
        raise SystemExit(f"--parallel {parallel}: exit {done.returncode}\n{done.stderr}")
    debates = problems * repeats
    wall = exited - spawned
    span = max(float(c["ended"]) for c in calls) - min(float(c["started"]) for c in calls)
    print(
        f"--parallel {parallel:>2}: {debates} debates, {len(calls)} calls, max in flight {max_in_flight(calls):>3}; "
        f"wall {wall:6.1f} s = {debates / wall * 60:6.1f} debates/min; "
        f"LLM span {span:6.1f} s = {debates / span * 60:6.1f} debates/min"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parallel", default="1,4,16")
    parser.add_argument("--latency-ms", type=float, default=300)
    parser.add_argument("--problems", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=4)
    args = parser.parse_args()
    llm_server = load_server()
    print(
        f"dialectic batch, local backend: {args.problems} problems × 1 arm (2 agents, 1 round) × {args.repeats} "
        f"repeats, test server at {args.latency_ms:g} ms per call"
    )
    with tempfile.TemporaryDirectory(prefix="batch-bench-") as root:
        for value in (int(v) for v in args.parallel.split(",")):
            run(llm_server, Path(root) / f"p{value}", value, args.latency_ms, args.problems, args.repeats)


if __name__ == "__main__":
    main()
