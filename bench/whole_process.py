"""Figures for the whole process over HTTP (not a test): the installed `dialectic debate` command,
run as a user runs it, against the project's OpenAI-compatible test server
(tests/http/llm_server.py, started in this process) on loopback.

    python bench/whole_process.py [--sizes 3x3,6x8] [--latency-ms 0] [--runs 5]

The work is the TypeScript comparison's (`../shared/fixtures/perf/`): its example3 config and
problem, provider `openai`, summaries firing; `AxR` is A agents (3: debate-config.json, 6:
debate-config-a6.json) for R rounds (`--rounds R`). The server answers plain text with 400 tokens
(`reply_tokens`) and counts prompt tokens as the TypeScript tool's stub does (message text plus
the JSON of tools and schemas, ÷ 4), so the prompt-token figures compare with the TypeScript
tool's, printed beside ours where its README has them.

Per size, from one run at `--latency-ms` (the server's log and the debate JSON written with -o):

- calls, prompt tokens in all and per phase (the debate's `usage.byPhase`, which records what
  the server reported), the largest prompt of each phase and the largest single prompt; each
  call's phase is found by matching the server's token count for it to the `tokensUsed` of the
  contribution, summary or judge summary it produced (the structured synthesis is the judge's
  `json_schema` call);
- time to first request: the command's start (just before the process is spawned) to the first
  request's arrival at the server; LLM span: first request's arrival to the last reply's end;
  last reply → exit: the last reply's end to the process's exit (both clocks are this machine's);
- cacheable share: the share of prompt text a provider's prefix cache could serve (the server's
  `cacheable_share()`: prompt text that starts with a prefix an earlier request already sent, in
  whole 256-character blocks);
- max calls in flight: the most chat completions the server served at once;
- sequential waves: the longest chain of requests in which each starts after the previous one
  has ended (a request started while another was in flight can run beside it; one started only
  after it ended had to wait for it or for something after it). With every call taking the same
  latency, calls of one phase that run together are one wave, a phase split by a concurrency cap
  is several, and a phase that overlaps another (summaries beside refinements) adds none: it is
  the critical path in calls. It needs the latency to dwarf the client's own stagger, so when
  `--latency-ms` is below 100 it comes from a second run at `--waves-latency-ms` (300), whose
  LLM span is printed too.

Then the start-up cost: the whole process of a 1-round 3-agent debate with the stub at 0 ms,
divided by a bare `python -c "import langgraph.graph, langchain_openai, langgraph.checkpoint.sqlite"`
(median of `--runs` each).

Timings are wall-clock on this machine: on a loaded one, take the median of a few invocations.
To measure another tree of the project (say the last commit, `git archive HEAD | tar -x -C
/tmp/head/dialectic`), put its parent first on the path: `PYTHONPATH=/tmp/head python
bench/whole_process.py` (the editable install's finder comes after PYTHONPATH).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT.parent / "shared" / "fixtures" / "perf"
CONFIGS = {3: "debate-config.json", 6: "debate-config-a6.json"}
BARE_IMPORT = "import langgraph.graph, langchain_openai, langgraph.checkpoint.sqlite"
REPLY_TOKENS = 400
WAVES_MIN_LATENCY_MS = 100
# What a contribution's `type` in the debate JSON was produced by (usage.byPhase's names).
PHASE_OF_TYPE = {"proposal": "propose", "critique": "critique", "refinement": "refine"}
# Variables that would send anything beyond loopback, or change which endpoint or key is used.
SCRUBBED = (
    "OPENROUTER_API_KEY",
    "OPENROUTER_BASE_URL",
    "DIALECTIC_DB",
    "LANGSMITH_TRACING",
    "LANGCHAIN_TRACING_V2",
    "LANGSMITH_API_KEY",
    "LANGCHAIN_API_KEY",
)


def load_server() -> Any:
    """tests/http/llm_server.py, loaded from its path as tests/http/conftest.py does."""
    spec = importlib.util.spec_from_file_location(
        "dialectic_bench_llm_server", ROOT / "tests" / "http" / "llm_server.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def dialectic_executable() -> str:
    beside = Path(sys.executable).parent / "dialectic"
    found = str(beside) if beside.exists() else shutil.which("dialectic")
    if not found:
        raise SystemExit("the dialectic command is not installed in this environment")
    return found


@dataclass
class Run:
    code: int
    stderr: str
    spawned: float  # epoch seconds, just before the process was spawned
    exited: float  # epoch seconds, as soon as it had exited
    calls: list[dict[str, Any]]  # the server's log entries of chat completions
    cacheable_share: float
    record: dict[str, Any] | None  # the debate JSON written with -o

    @property
    def first_request(self) -> float:
        return min(float(e["started"]) for e in self.calls)

    @property
    def last_reply(self) -> float:
        return max(float(e["ended"]) for e in self.calls if e["ended"] is not None)


def client_env(server: Any) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED}
    env.update(OPENAI_BASE_URL=server.url, OPENAI_API_KEY="bench-key")
    return env


def run_debate(
    llm_server: Any, fixtures: Path, folder: Path, agents: int, rounds: int, latency_ms: float
) -> Run:
    """One `dialectic debate` process against a fresh server; the config and problem copied into
    ``folder`` (its working directory: the checkpoint store and the JSON are written there)."""
    folder.mkdir(parents=True, exist_ok=True)
    config = shutil.copy(fixtures / CONFIGS[agents], folder / "debate-config.json")
    problem = shutil.copy(fixtures / "problem.md", folder / "problem.md")
    output = folder / "debate.json"
    server = llm_server.LLMServer(latency_ms=latency_ms, reply_tokens=REPLY_TOKENS, prompt_cache=True).start()
    try:
        command = [
            dialectic_executable(),
            "debate",
            "-p",
            str(problem),
            "-c",
            str(config),
            "-r",
            str(rounds),
            "-o",
            str(output),
            "--db",
            str(folder / "bench.sqlite"),
            "--id",
            f"bench-{agents}x{rounds}-{latency_ms:g}ms",
        ]
        spawned = time.time()
        process = subprocess.Popen(
            command,
            cwd=folder,
            env=client_env(server),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        _, stderr = process.communicate()
        exited = time.time()
        calls = server.requests("/chat/completions")
        share = server.cacheable_share()
    finally:
        server.stop()
    record = json.loads(output.read_text(encoding="utf-8")) if output.exists() else None
    return Run(process.returncode, stderr, spawned, exited, calls, share, record)


def sequential_waves(calls: list[dict[str, Any]]) -> int:
    """The longest chain of calls each started after the one before it ended."""
    done = sorted((e for e in calls if e["ended"] is not None), key=lambda e: e["started"])
    depth: list[int] = []
    for index, call in enumerate(done):
        before = [depth[j] for j in range(index) if done[j]["ended"] <= call["started"]]
        depth.append(1 + max(before, default=0))
    return max(depth, default=0)


def produced_calls(record: dict[str, Any]) -> list[tuple[int, str]]:
    """(tokensUsed, phase) of every call the debate JSON records a result of."""
    found: list[tuple[int, str]] = []

    def walk(node: Any, path: tuple[str, ...]) -> None:
        if isinstance(node, dict):
            tokens = (
                (node.get("metadata") or {}).get("tokensUsed")
                if isinstance(node.get("metadata"), dict)
                else None
            )
            if isinstance(tokens, int):
                phase = PHASE_OF_TYPE.get(str(node.get("type")))
                if phase is None:
                    phase = (
                        "summarize"
                        if "summaries" in path
                        else "judge_summary"
                        if "judgeSummary" in path
                        else path[-1]
                    )
                found.append((tokens, phase))
            for key, value in node.items():
                walk(value, (*path, str(key)))
        elif isinstance(node, list):
            for value in node:
                walk(value, path)

    walk(record, ("",))
    return found


def phases_of_calls(calls: list[dict[str, Any]], record: dict[str, Any] | None) -> list[str]:
    """Each call's phase: its total tokens matched to a recorded result's; the calls left (results
    the JSON does not keep, such as earlier judge summaries) go to the phases whose `usage.byPhase`
    call counts are not yet made up, the judge's `json_schema` call to `synthesize` first; a call
    that could be of several phases gets them all, joined by "/"."""
    pool: dict[int, list[str]] = defaultdict(list)
    for tokens, phase in produced_calls(record or {}):
        pool[tokens].append(phase)
    phases: list[str | None] = [
        "failed"
        if call["status"] != 200
        else pool[call["total_tokens"]].pop(0)
        if pool.get(call["total_tokens"])
        else None
        for call in calls
    ]
    by_phase = ((record or {}).get("usage") or {}).get("byPhase") or {}
    deficits = Counter({phase: usage.get("calls", 0) for phase, usage in by_phase.items()})
    deficits.subtract(Counter(p for p in phases if p))
    for index, call in enumerate(calls):
        if phases[index] is None and call["kind"] == "json_schema" and deficits["synthesize"] > 0:
            phases[index] = "synthesize"
            deficits["synthesize"] -= 1
    left = "/".join(phase for phase, count in deficits.items() if count > 0) or "?"
    return [phase or left for phase in phases]


def typescript_figures(readme: Path) -> dict[str, dict[str, int | None]]:
    """The TypeScript tool's figures from the fixtures' README table, by size ("3x3")."""
    figures: dict[str, dict[str, int | None]] = {}
    if not readme.exists():
        return figures
    names = ("calls", "prompt_tokens", "waves", "largest_prompt")
    for line in readme.read_text(encoding="utf-8").splitlines():
        match = re.match(r"\|\s*(\d+) agents × (\d+) rounds\s*\|(.*)\|\s*$", line)
        if match:
            cells = [cell.strip().replace(",", "") for cell in match.group(3).split("|")]
            values = [int(cell) if cell.isdigit() else None for cell in cells]
            figures[f"{match.group(1)}x{match.group(2)}"] = dict(zip(names, values, strict=False))
    return figures


def beside(ours: float, theirs: int | None) -> str:
    if not theirs:
        return ""
    return f"   TypeScript {theirs:,} (ours {ours / theirs:.2f}x)"


def completed(run: Run) -> bool:
    return run.code == 0 and bool(run.calls)


def max_in_flight(calls: list[dict[str, Any]]) -> int:
    return max(int(e["in_flight"]) for e in calls)


def report_tokens(run: Run, ts: dict[str, Any]) -> None:
    """Calls and prompt tokens, in all and per phase, and the largest prompts."""
    calls = run.calls
    phases = phases_of_calls(calls, run.record)
    prompt_total = sum(e["prompt_tokens"] for e in calls)
    print(f"  calls: {len(calls)}{beside(len(calls), ts.get('calls'))}")
    print(f"  prompt tokens: {prompt_total:,}{beside(prompt_total, ts.get('prompt_tokens'))}")
    by_phase = ((run.record or {}).get("usage") or {}).get("byPhase") or {}
    largest_of: dict[str, int] = defaultdict(int)
    for call, phase in zip(calls, phases, strict=True):
        largest_of[phase] = max(largest_of[phase], call["prompt_tokens"])
    counted = Counter(phases)
    for phase in [*by_phase, *(p for p in counted if p not in by_phase)]:
        usage = by_phase.get(phase, {})
        cached = usage.get("cachedInputTokens")
        print(
            f"    {phase:<14} {usage.get('calls', counted[phase]):>4} calls  "
            f"{usage.get('inputTokens', 0):>9,} prompt tokens  largest {largest_of[phase]:>7,}"
            + (f"  cached {cached:,}" if cached else "")
        )
    for phase in counted:
        if "/" in phase or phase == "?":
            print(f"    ({counted[phase]} calls of phase {phase}: their results are not in the JSON)")
    largest = max(range(len(calls)), key=lambda i: calls[i]["prompt_tokens"])
    tokens = calls[largest]["prompt_tokens"]
    print(
        f"  largest single prompt: {tokens:,} tokens ({phases[largest]}){beside(tokens, ts.get('largest_prompt'))}"
    )


def report_timing(run: Run, waves_run: Run, waves_latency: float, ts: dict[str, Any]) -> None:
    """Waves, the times a user feels, the cacheable share and the calls in flight."""
    other = waves_run is not run and completed(waves_run)

    def also(figure: str) -> str:
        return f"   (at {waves_latency:g} ms: {figure})" if other else ""

    if completed(waves_run):
        waves = sequential_waves(waves_run.calls)
        print(f"  sequential waves (at {waves_latency:g} ms): {waves}{beside(waves, ts.get('waves'))}")
    else:
        print(f"  sequential waves: the run at {waves_latency:g} ms failed (exit {waves_run.code}):")
        print(waves_run.stderr[-1500:])
    print(f"  time to first request: {run.first_request - run.spawned:.2f} s")
    span = waves_run.last_reply - waves_run.first_request if other else 0.0
    print(f"  LLM span: {run.last_reply - run.first_request:.2f} s{also(f'{span:.2f} s')}")
    print(f"  last reply -> exit: {run.exited - run.last_reply:.2f} s")
    print(f"  cacheable share: {run.cacheable_share:.0%}")
    in_flight = max_in_flight(waves_run.calls) if other else 0
    print(f"  max calls in flight: {max_in_flight(run.calls)}{also(str(in_flight))}")
    statuses = Counter(e["status"] for e in run.calls)
    if set(statuses) != {200}:
        print(f"  statuses: {dict(statuses)}")


def report(
    size: str, latency_ms: float, run: Run, waves_run: Run, waves_latency: float, ts: dict[str, Any]
) -> None:
    agents, rounds = size.split("x")
    print(
        f"\n== {agents} agents x {rounds} rounds: stub replies of {REPLY_TOKENS} tokens, {latency_ms:g} ms =="
    )
    if not completed(run):
        print(f"  the debate failed (exit {run.code}); its stderr ends:\n{run.stderr[-2000:]}")
        return
    report_tokens(run, ts)
    report_timing(run, waves_run, waves_latency, ts)


def median_wall(command: list[str], env: dict[str, str], cwd: Path, runs: int) -> float:
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, cwd=cwd, env=env, capture_output=True, check=True, stdin=subprocess.DEVNULL)
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def startup_ratio(llm_server: Any, fixtures: Path, folder: Path, runs: int) -> None:
    """A whole 1-round 3-agent debate at 0 ms ÷ the bare import of what it cannot do without."""
    walls = []
    for index in range(runs):
        run = run_debate(llm_server, fixtures, folder / f"one-round-{index}", 3, 1, 0)
        if run.code != 0:
            print(f"\nthe 1-round debate failed (exit {run.code}): {run.stderr[-1000:]}")
            return
        walls.append(run.exited - run.spawned)
    bare = median_wall([sys.executable, "-c", BARE_IMPORT], dict(os.environ), folder, runs)
    debate = statistics.median(walls)
    print(f"\n== start-up: 3 agents x 1 round, stub at 0 ms, median of {runs} ==")
    print(f'  whole process: {debate:.2f} s; bare `python -c "{BARE_IMPORT}"`: {bare:.2f} s')
    print(f"  whole process / bare import: {debate / bare:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="3x3,6x8", help="AGENTSxROUNDS, comma-separated (agents: 3 or 6)")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--waves-latency-ms", type=float, default=300.0)
    parser.add_argument("--runs", type=int, default=5, help="runs of each start-up measure (median)")
    parser.add_argument("--fixtures", type=Path, default=FIXTURES)
    args = parser.parse_args()
    sizes = []
    for size in args.sizes.split(","):
        agents, _, rounds = size.strip().partition("x")
        if not (agents.isdigit() and rounds.isdigit() and int(agents) in CONFIGS and int(rounds) >= 1):
            raise SystemExit(f"--sizes: expected 3xR or 6xR, not {size!r}")
        sizes.append((int(agents), int(rounds)))

    llm_server = load_server()
    ts = typescript_figures(args.fixtures / "README.md")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for agents, rounds in sizes:
            size = f"{agents}x{rounds}"
            run = run_debate(llm_server, args.fixtures, folder / size, agents, rounds, args.latency_ms)
            waves_latency = args.latency_ms
            waves_run = run
            if args.latency_ms < WAVES_MIN_LATENCY_MS:
                waves_latency = args.waves_latency_ms
                waves_run = run_debate(
                    llm_server, args.fixtures, folder / f"{size}-waves", agents, rounds, waves_latency
                )
            report(size, args.latency_ms, run, waves_run, waves_latency, ts.get(size, {}))
        if args.runs > 0:
            startup_ratio(llm_server, args.fixtures, folder, args.runs)


if __name__ == "__main__":
    main()
