"""Figures for the debate flow, on the offline model at a fixed latency (not a test).

    python bench/debate_flow.py [--latency-ms 300] [--agents 3] [--rounds 3]

Prints LLM calls per phase, prompt tokens per round, the critical path in calls (sequential
steps, counted from the offline model's call log: calls that end together form one step),
wall time ÷ (steps × latency), the orchestration overhead per call at zero latency, and the
start-up time of `dialectic --help`.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

PROBLEM = """Design a rate limiter for a public HTTP API.
The limiter must enforce per-API-key quotas of 1,000 requests per minute.
It must add less than 5 ms of latency at the 99th percentile.
Limits shall survive a restart of any single node.
Operators need a dashboard of the keys closest to their quota."""

ROLES = ["architect", "performance", "kiss", "security", "testing", "datamodeling"]


def write_config(folder: Path, agents: int, rounds: int) -> Path:
    config = {
        "agents": [
            {"id": f"agent-{role}", "name": role.title(), "role": role, "model": "sim", "provider": "offline"}
            for role in ROLES[:agents]
        ],
        "judge": {
            "id": "judge-main",
            "name": "Judge",
            "role": "generalist",
            "model": "sim",
            "provider": "offline",
        },
        # A low threshold so that summaries fire from round 1 on, as in a long real debate.
        "debate": {
            "rounds": rounds,
            "summarization": {"enabled": True, "threshold": 2500, "maxLength": 1200},
        },
    }
    path = folder / "debate-config.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    return path


def run_debate(
    folder: Path, latency_ms: float, agents: int, rounds: int
) -> tuple[float, list[dict[str, object]], dict]:
    import dialectic.graphs.debate  # noqa: F401  (imported before timing: start-up is measured apart)
    from dialectic.runner.inputs import prepare_settings
    from dialectic.runner.run import start_debate

    log = folder / f"calls-{latency_ms:g}.jsonl"
    log.unlink(missing_ok=True)
    os.environ["DIALECTIC_OFFLINE_LATENCY_MS"] = str(latency_ms)
    os.environ["DIALECTIC_OFFLINE_CALL_LOG"] = str(log)
    settings, _ = prepare_settings(
        str(write_config(folder, agents, rounds)), roles=None, rounds=None, offline=True
    )
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        started = time.perf_counter()
        result = start_debate(PROBLEM, settings, db=str(folder / f"bench-{latency_ms:g}.sqlite"))
        wall = time.perf_counter() - started
    finally:
        os.chdir(cwd)
    assert result.status == "completed", result.message
    calls = [c for c in map(json.loads, log.read_text().splitlines()) if c["event"] == "end"]
    return wall, calls, result.record.dump()


def sequential_steps(calls: list[dict[str, object]], latency_s: float) -> int:
    """Calls of one step end within a fraction of the latency of each other."""
    ends = sorted(float(c["time"]) for c in calls)  # type: ignore[arg-type]
    steps = 1
    for before, after in itertools.pairwise(ends):
        if after - before > latency_s / 2:
            steps += 1
    return steps


def help_startup_seconds(runs: int = 7) -> float:
    exe = shutil.which("dialectic") or str(Path(sys.executable).parent / "dialectic")
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([exe, "--help"], capture_output=True, check=True)
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--latency-ms", type=float, default=300)
    parser.add_argument("--agents", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    latency_s = args.latency_ms / 1000

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        wall, calls, record = run_debate(folder, args.latency_ms, args.agents, args.rounds)
        steps = sequential_steps(calls, latency_s)
        per_phase = Counter(str(c["phase"]) for c in calls)
        prompt_tokens: dict[str, int] = defaultdict(int)
        for c in calls:
            prompt_tokens[str(c["round"])] += int(c["input_tokens"])  # type: ignore[call-overload]
        wall0, calls0, _ = run_debate(folder, 0, args.agents, args.rounds)

    print(
        f"debate: {args.agents} agents x {args.rounds} rounds, offline model at {args.latency_ms:g} ms per call"
    )
    print(
        f"LLM calls: {len(calls)} in all; per phase: "
        + ", ".join(f"{k} {v}" for k, v in sorted(per_phase.items()))
    )
    print(
        "prompt tokens per round: " + ", ".join(f"round {k}: {v:,}" for k, v in sorted(prompt_tokens.items()))
    )
    print(f"sequential steps (critical path in calls): {steps}   (target 2R+2 = {2 * args.rounds + 2})")
    print(
        f"wall time: {wall:.2f} s; wall / (steps x latency) = {wall / (steps * latency_s):.3f}   (target <= 1.15)"
    )
    print(
        f"orchestration overhead at 0 ms latency: {wall0 * 1000 / len(calls0):.1f} ms per LLM call   (target <= 20)"
    )
    print(f"summaries: {per_phase.get('summarize', 0)} agent + {per_phase.get('judge_summary', 0)} judge")
    print(f"`dialectic --help` start-up (median of 7): {help_startup_seconds():.3f} s   (target <= 0.15)")
    print(f"total tokens: {record['usage']['total']['totalTokens']:,}")


if __name__ == "__main__":
    main()
