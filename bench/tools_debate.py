"""Figures for grounded debates (not a test): what agent tools cost in a debate.

    python bench/tools_debate.py [--context DIR] [--rounds 3]

Runs the same 3-agent offline debate twice, with every agent given list_files, file_read and
context_search over a context folder (default: this project's own tree), and without tools, and
prints model turns and tool calls per contribution, and the prompt tokens per round with and
without tools (tokens as the offline model counts them: characters / 4).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PROBLEM = """Design a job scheduler for this service.
Jobs must never run twice, even when a worker crashes.
The scheduler must start due jobs within one second."""
TOOLS = [{"name": "list_files"}, {"name": "file_read"}, {"name": "context_search"}]


def settings(context: Path | None, rounds: int) -> Any:
    from dialectic.configs.loader import validate_config
    from dialectic.configs.settings import resolve_settings

    agents = [
        {"id": f"agent-{role}", "name": role.title(), "role": role, "model": "sim", "provider": "offline"}
        | ({"tools": TOOLS} if context else {})
        for role in ("architect", "performance", "kiss")
    ]
    document = {
        "agents": agents,
        "judge": {
            "id": "judge-main",
            "name": "Judge",
            "role": "generalist",
            "model": "sim",
            "provider": "offline",
        },
        "debate": {"rounds": rounds},
    }
    resolved, _ = resolve_settings(validate_config(document, "bench"), None, offline=True)
    return resolved.model_copy(update={"context_dir": str(context) if context else None})


def debate(name: str, context: Path | None, rounds: int) -> tuple[dict[str, Any], float]:
    from dialectic.runner.run import start_debate

    started = time.perf_counter()
    result = start_debate(PROBLEM, settings(context, rounds), debate_id=name)
    assert result.status == "completed", result.message
    return result.record.dump(), time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--context", type=Path, default=ROOT)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    context = args.context.resolve()
    with tempfile.TemporaryDirectory() as folder:
        os.chdir(folder)
        with_tools, wall_tools = debate("with-tools", context, args.rounds)
        without, wall_plain = debate("without-tools", None, args.rounds)

    contributions = [
        c for r in with_tools["rounds"] for c in r["contributions"] if "toolCalls" in c["metadata"]
    ]
    turns = [c["metadata"]["toolCallIterations"] for c in contributions]
    calls = [len(c["metadata"]["toolCalls"]) for c in contributions]
    names = Counter(call["name"] for c in contributions for call in c["metadata"]["toolCalls"])
    print(f"context: {context}; 3 agents x {args.rounds} rounds, offline model, every agent with 3 tools")
    print(
        f"{len(contributions)} contributions used tools: tool turns per contribution mean "
        f"{statistics.mean(turns):.1f} (max {max(turns)}), model turns {statistics.mean(turns) + 1:.1f}; "
        f"tool calls per contribution mean {statistics.mean(calls):.1f} (max {max(calls)}); "
        + ", ".join(f"{name} {count}" for name, count in names.most_common())
    )
    by_round_tools = with_tools["usage"]["byRound"]
    by_round_plain = without["usage"]["byRound"]
    for number in sorted(by_round_plain, key=int):
        tools_in = by_round_tools[number]["inputTokens"]
        plain_in = by_round_plain[number]["inputTokens"]
        print(
            f"round {number}: prompt tokens {tools_in:,} with tools vs {plain_in:,} without "
            f"(+{tools_in - plain_in:,}, x{tools_in / plain_in:.2f}); calls "
            f"{by_round_tools[number]['calls']} vs {by_round_plain[number]['calls']}"
        )
    total_tools, total_plain = with_tools["usage"]["total"], without["usage"]["total"]
    print(
        f"whole debate: {total_tools['inputTokens']:,} vs {total_plain['inputTokens']:,} prompt tokens "
        f"(x{total_tools['inputTokens'] / total_plain['inputTokens']:.2f}); wall {wall_tools:.2f} s vs {wall_plain:.2f} s"
    )


if __name__ == "__main__":
    main()
