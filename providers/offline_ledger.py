"""What the offline model writes for the issue ledger (the blocks ``dialectic.debate.blocks``
reads): the findings and verdicts a critique ends with, the responses a refinement ends with,
and the lines an accepted item adds to the revised design. So every path of the ledger (raised,
accepted, rebutted, deferred, closed, reopened with or without a new argument, conceded, left
open) runs without a network.

Findings are drawn from the prose critique's weaknesses, seeded by critic, target, round and
design: in round 1 two per critique, the first critical when the target's id sorts before the
critic's (else major), the second minor; later at most one, mostly minor. What then happens to
an item is its course, fixed by its number (``_COURSES``), so every three-agent debate of three
rounds ends with items in every status whatever its problem, and a test can predict them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from dialectic.providers import offline_text as text
from dialectic.providers.offline_text import Element, Point

# The prompt sections that list items (rendered by dialectic.debate.ledger).
DUE = ("Your items against this design", "Your items against these designs")
OPEN = "Open items against your design"
PEERS = "Proposals from the other panelists"
# The sections of a revised design an accepted item changes (offline_text.refine writes them).
DESIGN = "Revised Design"
RISKS = "Trade-offs and Risks"

_ITEM = re.compile(r"^- \*\*(I(\d+))\*\*", re.M)
_CHANGE = re.compile(r"^- For \*\*I\d+\*\*: ", re.M)
# A reopening with a new argument: words the item and the answers to it do not have (the element
# is one of the target's design).
_REOPEN = (
    "Nothing in the revised design contains what happens when {e} is overloaded or down, so the "
    "failure still spreads.",
    "A short spike or load test of {e} would settle this either way, and the answer offers none.",
    "That reasoning holds for today's volume but not for the growth the problem implies; {e} "
    "would need rework later at a higher price.",
)


@dataclass(frozen=True)
class Item:
    """An item as a prompt lists it."""

    id: str
    number: int
    severity: str
    title: str
    status: str  # critique: the author's answer (rebutted, deferred); refinement: open, reopened
    suggestion: str = ""
    raised_in: int = 0  # refinement: the round it was raised in
    reopened_in: int = 0  # refinement: the round of its latest reopening


@dataclass
class Answer:
    """An author's response to an item and what it changes in the revised design."""

    id: str
    response: str
    note: str
    sections: list[str] = field(default_factory=list)
    adopted: Element | None = None
    lines: dict[str, str] = field(default_factory=dict)  # section title -> line added there
    said: str = ""  # its line under Response to Critiques


def asks_for(prompt: str, name: str) -> bool:
    """Whether the call asks for a ledger block with this field: the instructions name it in
    quotes or backticks, a repair request after "fields"."""
    return re.search(rf'"{name}"|`{name}`|fields {name}\b', prompt) is not None


def listed(section: str) -> list[Item]:
    """The items of a ``DUE`` or ``OPEN`` section, in order."""
    starts = list(_ITEM.finditer(section))
    found = []
    ends = [match.start() for match in starts[1:]] + [len(section)] if starts else []
    for match, end in zip(starts, ends, strict=True):
        chunk = section[match.start() : end]
        first = chunk.split("\n", 1)[0]
        severity = re.search(r"\((critical|major|minor)\b", first)
        head = first.split("): ", 1)[1] if "): " in first else first[match.end() - match.start() :]
        answered = re.search(r"The author \*(\w+)\*", chunk)
        status = answered.group(1) if answered else "reopened" if "reopened by" in chunk else "open"
        suggestion = re.search(r" Suggested: (.*)$", first)
        title = re.split(r" The author \*| Suggested: ", head)[0].strip().rstrip(".")
        raised = re.search(r"raised by \S+ in round (\d+)", first)
        reopened = re.findall(r"reopened by \S+ in round (\d+)", chunk)
        found.append(
            Item(
                match.group(1),
                int(match.group(2)),
                severity.group(1) if severity else "minor",
                title,
                status,
                suggestion.group(1).strip() if suggestion else "",
                int(raised.group(1)) if raised else 0,
                int(reopened[-1]) if reopened else 0,
            )
        )
    return found


def fenced(block: Mapping[str, Sequence[Mapping[str, Any]]]) -> str:
    """The block as a model lays it out: one entry a line."""
    fields = [
        f'"{name}": [' + ",\n  ".join(json.dumps(entry, ensure_ascii=False) for entry in entries) + "]"
        for name, entries in block.items()
    ]
    return "\n```json\n{" + ",\n ".join(fields) + "}\n```\n"


# --- critiques ---------------------------------------------------------------------------------


def critique_block(
    role: str,
    critic: str,
    target: str | None,
    round_number: int,
    problem: str,
    design: str,
    points: Sequence[Point],
    parts: Mapping[str, str],
    prompt: str,
) -> str:
    """A critique's block: its findings (a batched critique's name their design) and a verdict on
    each of the critic's items the prompt lists."""
    if PEERS not in parts:
        found = findings(critic, target or "the author", round_number, design, points, prompt)
    else:
        found = []
        for peer, body in peer_designs(parts.get(PEERS, "")):
            seed = text.seeded("ledger", critic, peer, str(round_number), body)
            _, peer_points = text.critique_points(role, critic, peer, problem, body, seed)
            found += [
                {**f, "target": peer} for f in findings(critic, peer, round_number, body, peer_points, prompt)
            ]
    due = listed(next((parts[title] for title in DUE if title in parts), ""))
    return fenced({"findings": found, "verdicts": verdicts(round_number, due, design or prompt)})


def peer_designs(section: str) -> list[tuple[str, str]]:
    """A batched critique's designs: (author id, design) under ``### <id> (<role>)``."""
    return re.findall(r"^### (\S+) \([^)\n]*\)\n(.*?)(?=^### \S+ \(|\Z)", section, re.M | re.S)


def findings(
    critic: str, target: str, round_number: int, design: str, points: Sequence[Point], prompt: str
) -> list[dict[str, str]]:
    """Round 1: one finding per point of the prose (two), the first critical or major, the second
    minor. Later rounds: at most one, only for a concern the prompt does not show already, mostly
    minor."""
    rng = text.seeded("ledger", critic, target, str(round_number), design)
    if round_number <= 1:
        lead = "critical" if target < critic else "major"
        chosen = list(zip(points[:2], (lead, "minor"), strict=False))
    else:
        fresh = [point for point in points if point.concern.lower() not in prompt.lower()]
        if not fresh or rng.random() >= 0.4:
            return []
        chosen = [(fresh[0], "minor" if rng.random() < 0.8 else "major")]
    elements = {element.name: element for element in text.design_elements(design)}
    return [_finding(point, severity, target, elements) for point, severity in chosen]


def _finding(point: Point, severity: str, target: str, elements: Mapping[str, Element]) -> dict[str, str]:
    subject = elements.get(point.subject)
    evidence = (
        f"{target}'s design has **{subject.name}** ({subject.purpose.rstrip('.')}) and nothing in it answers this."
        if subject
        else f"{target}'s design names **{point.subject}** without saying how it answers this."
    )
    name, purpose = point.change.name, point.change.purpose.rstrip(".")
    suggestion = (
        f"Show how the existing **{name}** handles it: it {purpose}."
        if name in elements
        else f"Add {text.with_article(f'**{name}**')} that {purpose}."
    )
    return {"title": point.concern, "severity": severity, "evidence": evidence, "suggestion": suggestion}


def verdicts(round_number: int, due: Sequence[Item], design: str) -> list[dict[str, str]]:
    """A verdict on each item awaiting one, as its course says; a reopening that brings a new
    argument names an element of the design."""
    names = [element.name for element in text.design_elements(design)] or text.bold_terms(design)
    said = []
    for item in due:
        course = course_of(item)
        if not course.reopen:
            said.append({"id": item.id, "verdict": "close", "argument": ""})
            continue
        if course.repeat:
            argument = item.title
        else:
            element = f"**{names[item.number % len(names)]}**" if names else "the design"
            argument = _REOPEN[(item.number + round_number) % len(_REOPEN)].format(e=element)
        said.append({"id": item.id, "verdict": "reopen", "argument": argument})
    return said


@dataclass(frozen=True)
class Course:
    """What happens to an item: the author's first answer ("": none, it stays open), whether the
    critic reopens a rebuttal or deferral (``repeat``: in the item's own words, nothing new), and
    the author's answer to the first reopening and to later ones ("": none, it stays reopened;
    ``waits``: not in the round it was reopened, only in the next)."""

    first: str
    reopen: bool = False
    repeat: bool = False
    again: str = ""
    later: str = ""
    waits: bool = False


# Courses by item number modulo 12: a round of a three-agent panel raises I1-I12 (odd: a
# critique's first finding, critical or major; even: its second, minor), so such a debate of
# three rounds ends with an item in every status, whatever its problem: accepted (I1, I5, and I7
# conceded on a reopening that repeated itself), closed (I2, I4, I10, I11), rebutted (I3, a
# standing dispute), deferred (I8, reopened with a new argument, answered a round late),
# reopened (I9, left unanswered on its second reopening) and open (I6, I12).
_COURSES: dict[int, Course] = {
    1: Course("accepted"),
    2: Course("rebutted"),
    3: Course("rebutted", reopen=True, repeat=True, again="rebutted", later="rebutted"),
    4: Course("deferred"),
    5: Course("accepted"),
    6: Course(""),  # a minor item; a graver one is accepted
    7: Course("rebutted", reopen=True, repeat=True, again="accepted", later="accepted"),
    8: Course("deferred", reopen=True, again="deferred", later="deferred", waits=True),
    9: Course("rebutted", reopen=True, again="rebutted"),
    10: Course("deferred"),
    11: Course("rebutted"),
    0: Course(""),
}


def course_of(item: Item) -> Course:
    course = _COURSES[item.number % 12]
    return course if course.first or item.severity == "minor" else Course("accepted")


# --- refinements -------------------------------------------------------------------------------


def answers(items: Sequence[Item], round_number: int, topic: str, design: Sequence[Element]) -> list[Answer]:
    """The author's answers to the open items, as their courses say (some get none)."""
    found = []
    for item in items:
        course = course_of(item)
        if item.status != "reopened":
            response = course.first
        elif course.waits and item.reopened_in == round_number:
            response = ""
        else:
            # Reopened two rounds or more after it was raised: not its first reopening.
            response = course.later if item.reopened_in >= item.raised_in + 2 else course.again
        if response:
            found.append(_answer(item, response, topic, design))
    return found


def _answer(item: Item, response: str, topic: str, design: Sequence[Element]) -> Answer:
    change = item.suggestion.rstrip(".") or item.title
    if response == "accepted":
        added = re.match(r"Add an? \*\*([^*]+)\*\* that (.+?)\.?$", item.suggestion)
        adopted = Element(added.group(1), added.group(2)) if added else None
        sections = [DESIGN, RISKS] if item.number % 2 == 0 else [DESIGN]
        cost = f"the {adopted.name}" if adopted else "this change"
        lines = {
            DESIGN: f"- For **{item.id}**: {change}.",
            RISKS: f"- For **{item.id}**: {cost} adds work to build, test and operate.",
        }
        conceded = "Conceded on reopening. " if item.status == "reopened" else ""
        note = f"{conceded}Changed {' and '.join(sections)}: {change}."
        answer = Answer(item.id, response, note, sections, adopted, {s: lines[s] for s in sections})
    elif response == "rebutted":
        kept = f"**{design[item.number % len(design)].name}**" if design else "the current design"
        note = f"Kept as is: {kept} already covers this at the stated load for {topic}, and the change would add a component to operate."
        answer = Answer(item.id, response, note)
    else:
        note = f"Out of scope for the first release of {topic}; to revisit once the core flow meets the stated load."
        answer = Answer(item.id, response, note)
    answer.said = f"- **{item.id}** ({item.severity}) — *{response}*: {answer.note}"
    return answer


def carried(design: str) -> dict[str, list[str]]:
    """The lines earlier answers added to the author's current design, by section, so that the
    revision keeps them rather than drop changes no item undid."""
    found: dict[str, list[str]] = {}
    for match in re.finditer(r"^#{2,6} (.+?)\n(.*?)(?=^#{2,6} |\Z)", design, re.M | re.S):
        lines = [line for line in match.group(2).splitlines() if _CHANGE.match(line)]
        if lines:
            found.setdefault(match.group(1).strip(), []).extend(lines)
    return found


def amendments(design: str, given: Sequence[Answer]) -> dict[str, list[str]]:
    """What the revision adds at the end of each section: the lines kept from earlier answers,
    the changes of this round's, and the answers under Response to Critiques."""
    found = carried(design)
    for answer in given:
        for section, line in answer.lines.items():
            found.setdefault(section, []).append(line)
    if given:
        found["Response to Critiques"] = [answer.said for answer in given]
    return found


def refinement_block(given: Sequence[Answer]) -> str:
    return fenced(
        {
            "responses": [
                {"id": a.id, "response": a.response, "note": a.note, "sections": a.sections} for a in given
            ]
        }
    )
