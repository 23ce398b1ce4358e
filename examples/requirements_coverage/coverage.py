"""Requirements coverage, round by round: a Dialectic extension without LLM calls.

After the refinements of every round it reads each agent's "Requirements Coverage" section and
decides, for each of the problem's major requirements (its must/shall/required sentences),
whether the refinement covers it, says it is unmet, or does not address it at all. It saves that
table in the debate JSON, shows it in the report, and (option ``nudge``) tells each agent which
requirements its design still leaves out, so the next round can close the gaps.

Config::

    {"name": "requirements-coverage", "callable": "coverage.py:track_coverage", "after": "refine",
     "options": {"match": 0.6, "nudge": true}}

``match`` is the share of a requirement's significant words a line must contain to count as
being about it (default 0.6).
"""

from __future__ import annotations

import re
from typing import Any

from dialectic.extensions import DebateView, ExtensionContext, ExtensionUpdate

COVERED, UNMET, MISSING = "covered", "unmet", "missing"
SYMBOL = {COVERED: "✓", UNMET: "⚠", MISSING: "✗"}

_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset(
    "the a an and or of to in on for with by at from be is are must shall should will can it its "  # noqa: SIM905
    "their them they this that these those when within without any all each every not no only "
    "other others made make required requires critical essential".split()
)
_UNMET = re.compile(
    r"\b(not (?:yet )?(?:met|covered|addressed|handled|satisfied)|unmet|unaddressed|open question|"
    r"out of scope|gap|missing|deferred|tbd)\b",
    re.IGNORECASE,
)
_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*)$")


def significant_words(text: str) -> set[str]:
    return {_stem(w) for w in _WORD.findall(text.lower()) if w not in _STOP and (len(w) > 2 or w.isdigit())}


def _stem(word: str) -> str:
    return word[:-1] if len(word) > 4 and word.endswith("s") and not word.endswith("ss") else word


def coverage_section(markdown: str) -> str:
    """The text under a "Requirements Coverage" heading (up to the next heading of the same or a
    higher level); the whole text when there is no such heading."""
    lines = markdown.splitlines()
    for index, line in enumerate(lines):
        heading = _HEADING.match(line)
        if heading and "requirements coverage" in heading.group(2).lower():
            level = len(heading.group(1))
            body = []
            for following in lines[index + 1 :]:
                other = _HEADING.match(following)
                if other and len(other.group(1)) <= level:
                    break
                body.append(following)
            return "\n".join(body)
    return markdown


def status_of(requirement: str, section: str, match: float) -> str:
    wanted = significant_words(requirement)
    if not wanted:
        return MISSING
    best: tuple[float, str] = (0.0, "")
    for line in section.splitlines():
        share = len(wanted & significant_words(line)) / len(wanted)
        if share > best[0]:
            best = (share, line)
    if best[0] < match:
        return MISSING
    return UNMET if _UNMET.search(best[1]) else COVERED


def track_coverage(view: DebateView, context: ExtensionContext) -> ExtensionUpdate:
    match = float(context.options.get("match", 0.6))
    table = {
        refinement.agent_id: [
            status_of(requirement, coverage_section(refinement.content), match)
            for requirement in view.requirements
        ]
        for refinement in view.current.refinements
    }
    data = {"requirements": list(view.requirements), "coverage": table}
    history = [saved.value for saved in view.extension_data.get(context.name, ())] + [data]
    gaps = {agent: _gaps(view.requirements, statuses) for agent, statuses in table.items()}
    context.log(
        ", ".join(f"{agent} {statuses.count(COVERED)}/{len(statuses)}" for agent, statuses in table.items())
    )
    return ExtensionUpdate(
        data=data,
        report=report(history),
        agent_notes=gaps if context.options.get("nudge", True) else None,
    )


def _gaps(requirements: tuple[str, ...], statuses: list[str]) -> str:
    left = [f"- {text}" for text, status in zip(requirements, statuses, strict=True) if status != COVERED]
    if not left:
        return ""
    return "Your latest design does not yet cover these major requirements:\n" + "\n".join(left)


def report(history: list[dict[str, Any]]) -> str:
    """A table: one row per requirement, one column per agent, the status of each round."""
    if not history or not history[-1]["requirements"]:
        return "The problem states no major (must/shall) requirement to track."
    requirements: list[str] = history[-1]["requirements"]
    agents = list(dict.fromkeys(agent for entry in history for agent in entry["coverage"]))
    lines = [
        f"Coverage of each major requirement by each agent's refinement, round by round "
        f"({SYMBOL[COVERED]} covered · {SYMBOL[UNMET]} said to be unmet · {SYMBOL[MISSING]} not addressed).",
        "",
        "| Requirement | " + " | ".join(agents) + " |",
        "|---|" + "---|" * len(agents),
    ]
    for index, requirement in enumerate(requirements):
        cells = []
        for agent in agents:
            rounds = [entry["coverage"].get(agent) for entry in history]
            cells.append(" → ".join(SYMBOL[statuses[index]] if statuses else "–" for statuses in rounds))
        lines.append(f"| {requirement.replace('|', '/')} | " + " | ".join(cells) + " |")
    last = history[-1]["coverage"]
    totals = [f"{last[a].count(COVERED)}/{len(requirements)}" if a in last else "–" for a in agents]
    lines.append("| **Covered in the last round** | " + " | ".join(totals) + " |")
    return "\n".join(lines)
