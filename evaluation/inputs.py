"""What an evaluator reads of a saved debate (ours or the TypeScript tool's): the problem, the
clarifications, the final solution, and what the debate recorded about the requirements."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from dialectic import prompts
from dialectic.debate.history import clarifications_text
from dialectic.debate.state import AgentClarifications, ClarificationItem
from dialectic.errors import InputError
from dialectic.prompts.requirements import major_requirements
from dialectic.transcript.files import read_record
from dialectic.transcript.schema import DebateRecord


@dataclass(frozen=True)
class DebateInputs:
    name: str  # the file name without .json: the CSV's "debate" column
    problem: str
    clarifications: str
    final_solution: str
    requirements_info: str


def debate_name(path: Path) -> str:
    name = path.name
    return name[: -len(".json")] if name.lower().endswith(".json") else name


def load_debate(path: Path) -> DebateInputs:
    """Read a debate file; one without a final solution cannot be evaluated (exit 2)."""
    record = read_record(path)
    shown = path.resolve()
    solution = record.finalSolution.description.strip() if record.finalSolution else ""
    if not solution:
        hint = (
            f"; finish it first with: dialectic resume {record.id}"
            if record.status not in ("completed", "degraded")
            else ""
        )
        raise InputError(
            f"debate file {shown} has no final solution (status {record.status!r}), so there is nothing to evaluate{hint}"
        )
    if not record.problem.strip():
        raise InputError(f"debate file {shown} has an empty problem")
    return DebateInputs(
        name=debate_name(path),
        problem=record.problem.strip(),
        clarifications=clarifications_of(record),
        final_solution=solution,
        requirements_info=requirements_info(record),
    )


def clarifications_of(record: DebateRecord) -> str:
    groups = [
        AgentClarifications(
            agent_id=group.agentId,
            agent_name=group.agentName or group.agentId,
            role=group.role,
            items=tuple(
                ClarificationItem(id=item.id, question=item.question, answer=item.answer)
                for item in group.items
            ),
        )
        for group in record.clarifications or []
    ]
    return clarifications_text(groups)


_HEADING = re.compile(r"^(#{1,6})[ \t]+(.*?)[ \t]*#*[ \t]*$", re.M)


def coverage_section(markdown: str) -> str | None:
    """The body of the last "Requirements Coverage" section of a proposal, up to the next
    heading of the same or a higher level."""
    headings = list(_HEADING.finditer(markdown))
    found = None
    for index, heading in enumerate(headings):
        if not heading.group(2).strip("*: ").lower().startswith("requirements coverage"):
            continue
        level = len(heading.group(1))
        end = next(
            (h.start() for h in headings[index + 1 :] if len(h.group(1)) <= level),
            len(markdown),
        )
        found = markdown[heading.end() : end].strip()
    return found or None


def requirements_info(record: DebateRecord) -> str:
    """The ``{requirements_info}`` placeholder: the problem's major requirements, those the judge
    marked unfulfilled, and each agent's latest Requirements Coverage section."""
    stated = major_requirements(record.problem)
    parts = ["### Major requirements stated in the problem", ""]
    parts += [f"- {item}" for item in stated] or [
        "- (The problem states no explicit must/shall/required/critical/essential requirement.)"
    ]
    unfulfilled = record.finalSolution.unfulfilledMajorRequirements if record.finalSolution else None
    parts += ["", "### Requirements the judge marked as unfulfilled", ""]
    if unfulfilled is None:
        parts.append("- (Not recorded in this debate.)")
    else:
        parts += [f"- {item}" for item in unfulfilled] or ["- None."]
    latest: dict[str, tuple[int, str, str]] = {}
    for round_record in record.rounds:
        for contribution in round_record.contributions:
            if contribution.type in ("proposal", "refinement"):
                latest[contribution.agentId] = (
                    round_record.roundNumber,
                    contribution.type,
                    contribution.content,
                )
    for agent_id, (round_number, kind, content) in latest.items():
        section = coverage_section(content)
        if section:
            parts += [
                "",
                f"### Requirements Coverage claimed by {agent_id} (round {round_number} {kind})",
                "",
                prompts.embed(section),
            ]
    return "\n".join(parts)
