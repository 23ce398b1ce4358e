"""Figures for the issue ledger, on the offline model (not a test).

    python bench/ledger.py [--agents 3] [--rounds 3]

Runs the same debate twice in-process: as shipped, and with the ledger switched off (its prompt
sections and blocks left out), and prints the items raised per round and the share settled by
the end, the prompt tokens the ledger adds per round (the offline model counts characters / 4),
and the judge's synthesis prompt with the ledger section against the whole transcript it would
otherwise have to read.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from debate_flow import run_debate


def prompt_tokens_per_round(calls: list[dict[str, Any]]) -> dict[int, int]:
    found: dict[int, int] = defaultdict(int)
    for call in calls:
        found[int(call["round"])] += int(call["input_tokens"])
    return dict(found)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--agents", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    import dialectic.nodes.ledger_block as ledger_block
    from dialectic.debate import ceiling

    with tempfile.TemporaryDirectory() as tmp:
        _, calls, record = run_debate(Path(tmp), 0, args.agents, args.rounds)
        wanted = ledger_block.wanted
        ledger_block.wanted = lambda task, phase: False  # type: ignore[assignment]
        try:
            (Path(tmp) / "off").mkdir()
            _, calls_off, record_off = run_debate(Path(tmp) / "off", 0, args.agents, args.rounds)
        finally:
            ledger_block.wanted = wanted  # type: ignore[assignment]

    items = record.get("ledger", [])
    raised = Counter(item["round"] for item in items)
    statuses = Counter(item["status"] for item in items)
    settled = statuses["accepted"] + statuses["closed"]
    print(f"debate: {args.agents} agents x {args.rounds} rounds, offline model")
    print("items raised per round: " + ", ".join(f"round {r}: {raised[r]}" for r in sorted(raised)))
    print(f"statuses at the end: {dict(sorted(statuses.items()))}")
    print(
        f"settled (accepted or closed) by the end: {settled} of {len(items)} ({settled / max(len(items), 1):.0%})"
    )
    on, off = prompt_tokens_per_round(calls), prompt_tokens_per_round(calls_off)
    print(
        "prompt tokens the ledger adds per round: "
        + ", ".join(
            f"round {r}: {on[r] - off.get(r, 0):+,} ({on[r]:,} vs {off.get(r, 0):,})" for r in sorted(on)
        )
    )
    print(f"calls: {len(calls)} with the ledger, {len(calls_off)} without")
    synthesis = [c for c in calls if c["phase"] == "synthesize"][-1]
    synthesis_off = [c for c in calls_off if c["phase"] == "synthesize"][-1]
    transcript = sum(
        ceiling.tokens(c["content"])
        for r in record["rounds"]
        for c in r["contributions"]
        if c["type"] != "proposal" or r["roundNumber"] == 1
    )
    print(
        f"judge's synthesis prompt: {synthesis['input_tokens']:,} tokens with the ledger section "
        f"({synthesis_off['input_tokens']:,} without it); the whole transcript alone is {transcript:,} tokens"
    )
    print(
        f"debate JSON: {len(json.dumps(record)):,} bytes with the ledger, {len(json.dumps(record_off)):,} without"
    )


if __name__ == "__main__":
    main()
