"""The round diffs as ``dialectic show ID --diff [--round N]`` prints them: per round, per
agent, each section of its design the refinement changed (or an item claimed it changed), how,
and the ledger items that caused it — an item whose section did not change is marked
unconfirmed. Section titles are model text: made terminal-safe, on one line.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from dialectic.debate.diffs import PREAMBLE, PREAMBLE_LABEL, AgentDiff, SectionDiff
from dialectic.errors import InputError
from dialectic.report.inert import one_line


def diff_lines(found: Mapping[int, Sequence[AgentDiff]], reached: int, only: int | None = None) -> list[str]:
    """The lines for every round with a refinement, or for round ``only`` (an ``InputError`` if
    the debate has not reached it). ``reached``: the debate's current round."""
    if only is not None and not 1 <= only <= reached:
        raise InputError(
            f"--round {only}: the debate has rounds 1 to {reached}"
            if reached
            else f"--round {only}: the debate has not begun a round yet"
        )
    rounds = [only] if only is not None else sorted(found)
    if not rounds:
        return ["no round diffs yet: no refinement has been written"]
    lines: list[str] = []
    for number in rounds:
        lines.append(f"round {number}")
        per_agent = found.get(number, [])
        if not per_agent:
            lines.append("  no refinement in this round yet")
        for agent in per_agent:
            lines.append(f"  {one_line(agent.agent_id)}")
            lines += [f"    {_section(section)}" for section in agent.sections] or ["    no section changed"]
    return lines


def _section(section: SectionDiff) -> str:
    title = one_line(section.title, 80) if section.title != PREAMBLE else PREAMBLE_LABEL
    mark = "" if section.confirmed else " (unconfirmed)"
    items = ", ".join(f"{one_line(item)}{mark}" for item in section.items)
    return f"{title} — {section.change}" + (f" — {items}" if items else "")
