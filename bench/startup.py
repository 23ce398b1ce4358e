"""Start-up and exit of the whole `dialectic debate` process over HTTP (not a test).

    python bench/startup.py [--runs 5] [--rounds 1] [--config PATH] [--problem PATH]

Starts the test LLM server (tests/http/llm_server.py) on loopback at 0 ms latency, runs the
installed `dialectic debate` against it through OPENAI_BASE_URL, and prints the medians of: the
whole process, process start → first request, last reply → process exit, and the whole process
÷ the bare import of what a debate must load (`python -c "import langgraph.graph,
langchain_openai, langgraph.checkpoint.sqlite"`). Also `dialectic --help` and `list`.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PERF = ROOT.parent / "shared" / "fixtures" / "perf"
BARE = "import langgraph.graph, langchain_openai, langgraph.checkpoint.sqlite"


def server_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_llm_server", ROOT / "tests/http/llm_server.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def dialectic() -> str:
    beside = Path(sys.executable).parent / "dialectic"
    return str(beside) if beside.exists() else shutil.which("dialectic") or "dialectic"


def timed(command: list[str], **kwargs: Any) -> tuple[float, float, float, float]:
    """Wall seconds of ``command``, its start and end on the ``time.time`` clock, and its CPU
    seconds (user + system: steadier than the wall on a shared machine)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    begun, started = time.time(), time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, **kwargs)
    wall, ended = time.perf_counter() - started, time.time()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return wall, begun, ended, cpu


def debate_once(server: Any, folder: Path, config: Path, problem: Path, rounds: int) -> dict[str, float]:
    server.clear_log()
    env = {**os.environ, "OPENAI_API_KEY": "bench", "OPENAI_BASE_URL": server.url}
    wall, begun, ended, cpu = timed(
        [dialectic(), "debate", "-c", str(config), "-p", str(problem), "-r", str(rounds), "-o", "out.json"],
        cwd=folder,
        env=env,
    )
    log = server.requests()
    return {
        "wall": wall,
        "cpu": cpu,
        "first_request": min(e["started"] for e in log) - begun,
        "exit": ended - max(e["ended"] for e in log),
        "calls": len(log),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--config", type=Path, default=PERF / "debate-config.json")
    parser.add_argument("--problem", type=Path, default=PERF / "problem.md")
    args = parser.parse_args()

    bares = [timed([sys.executable, "-c", BARE]) for _ in range(args.runs)]
    bare = statistics.median(run[0] for run in bares)
    bare_cpu = statistics.median(run[3] for run in bares)
    server = server_module().LLMServer("127.0.0.1", 0, quiet=True).start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            runs = [
                debate_once(server, Path(tmp), args.config.resolve(), args.problem.resolve(), args.rounds)
                for _ in range(args.runs)
            ]
            helps = [timed([dialectic(), "--help"])[0] for _ in range(args.runs)]
            lists = [timed([dialectic(), "list"], cwd=tmp)[0] for _ in range(args.runs)]
    finally:
        server.stop()

    def median(key: str) -> float:
        return statistics.median(run[key] for run in runs)

    print(
        f"debate, {args.rounds} round(s), {int(median('calls'))} calls over HTTP at 0 ms (median of {args.runs})"
    )
    print(f"bare import ({BARE}): {bare:.2f} s, CPU {bare_cpu:.2f} s")
    print(
        f"whole process: {median('wall'):.2f} s, CPU {median('cpu'):.2f} s; ÷ bare import: "
        f"wall {median('wall') / bare:.2f}, CPU {median('cpu') / bare_cpu:.2f}   (target <= 1.2)"
    )
    print(f"process start → first request: {median('first_request'):.2f} s")
    print(f"last reply → process exit: {median('exit'):.3f} s   (target <= 0.2)")
    print(
        f"`dialectic --help`: {statistics.median(helps):.2f} s; `dialectic list`: {statistics.median(lists):.2f} s"
    )


if __name__ == "__main__":
    main()
