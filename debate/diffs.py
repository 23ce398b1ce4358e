"""Round diffs: what each agent's refinement of a round changed in its design, section by
section, and which ledger items caused each change.

A design is split at its ``## `` headings (outside fenced code); a section's text is compared
with its whitespace normalised, so re-wrapping is no change. The causes are what the refinement
said: its ``accepted`` responses and the sections each names. The text diff confirms them: an
item that names a section which did not change is listed, unconfirmed.

A pure function of the state, like the ledger: nothing here is stored.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from dialectic.debate import ledger
from dialectic.prompts import code_lines

# Annotations only: the state module imports LangGraph, which `dialectic report` never needs.
if TYPE_CHECKING:
    from dialectic.debate.state import Contribution, DebateState

Change = Literal["changed", "added", "removed", "unchanged"]
DESIGNS = ("proposal", "refinement")  # the contributions that are a design (not a critique)
PREAMBLE = ""  # the title of the text before the first section
PREAMBLE_LABEL = "(text before the first section)"  # how reports show that title

_SECTION = re.compile(r" {0,3}##(?:[ \t]+(.*)|[ \t]*$)")
_CLOSING_HASHES = re.compile(r"(?:^|[ \t]+)#+[ \t]*$")


@dataclass(frozen=True)
class SectionDiff:
    title: str  # as the newer design writes it (the older one, for a removed section)
    change: Change  # "unchanged": listed only because an item named it
    items: tuple[str, ...] = ()  # the accepted items whose response named this section

    @property
    def confirmed(self) -> bool:
        """Whether the text diff shows the change the items claim."""
        return self.change != "unchanged"


@dataclass(frozen=True)
class AgentDiff:
    agent_id: str
    round: int
    sections: tuple[SectionDiff, ...] = ()

    @property
    def unconfirmed(self) -> list[str]:
        """Items that named a section the refinement did not change."""
        return [item for section in self.sections if not section.confirmed for item in section.items]


def key(title: str) -> str:
    """How a section is matched: any case, ``##`` and blanks ignored."""
    return " ".join(title.strip().lstrip("#").split()).lower()


def _split(design: str) -> dict[str, tuple[str, list[str]]]:
    """A design's sections: key -> (title, lines), in order (``sections`` says how)."""
    lines = design.split("\n")
    code = code_lines(lines)
    found: dict[str, tuple[str, list[str]]] = {}
    title = PREAMBLE
    for index, line in enumerate(lines):
        heading = _SECTION.match(line) if index not in code else None
        if heading:
            title = _CLOSING_HASHES.sub("", heading.group(1) or "").strip()
            found.setdefault(key(title), (title, []))
        else:
            found.setdefault(key(title), (title, []))[1].append(line)
    return found


def sections(design: str) -> dict[str, tuple[str, str]]:
    """A design's sections: key -> (title, body with whitespace normalised), in order. Text
    before the first heading is the ``PREAMBLE`` section (when there is any); a title used twice
    is one section."""
    return {
        name: (shown, " ".join(" ".join(body).split()))
        for name, (shown, body) in _split(design).items()
        if name != PREAMBLE or any(part.strip() for part in body)
    }


def section_text(design: str, title: str) -> str:
    """The text of one section of a design as written ("": the design has no such section)."""
    found = _split(design).get(key(title))
    return "\n".join(found[1]).strip() if found else ""


def diff(
    before: str, after: str, claims: Iterable[tuple[str, Sequence[str]]] = ()
) -> tuple[SectionDiff, ...]:
    """The sections that changed from ``before`` to ``after`` (those of ``after`` first, in its
    order, then the removed ones), each with the items of ``claims`` ((item id, sections it
    named)) that named it; then the sections named that did not change."""
    old, new = sections(before), sections(after)
    named: dict[str, list[str]] = {}
    shown: dict[str, str] = {}
    for item_id, titles in claims:
        for title in filter(key, titles):  # a blank name names nothing
            ids = named.setdefault(key(title), [])
            ids += [item_id] if item_id not in ids else []
            shown.setdefault(key(title), title.strip().lstrip("#").strip())
    found: list[SectionDiff] = []
    for name, (title, body) in new.items():
        change: Change = "added" if name not in old else "changed" if old[name][1] != body else "unchanged"
        if change != "unchanged":
            found.append(SectionDiff(title, change, tuple(named.pop(name, ()))))
    for name, (title, _) in old.items():
        if name not in new:
            found.append(SectionDiff(title, "removed", tuple(named.pop(name, ()))))
    for name, ids in named.items():  # what is left was named but did not change
        title = new[name][0] if name in new else shown[name]
        found.append(SectionDiff(title, "unchanged", tuple(ids)))
    return tuple(found)


def _claims(found: Iterable[ledger.Item]) -> dict[tuple[str, int], list[tuple[str, Sequence[str]]]]:
    """(author, round) -> the items it accepted in that round's refinement, with the sections
    each response named (responses the ledger did not take, e.g. to a made-up id, are left out)."""
    claims: dict[tuple[str, int], list[tuple[str, Sequence[str]]]] = {}
    for item in found:
        for entry in item.history:
            if entry.kind == "response" and entry.answer == "accepted":
                claims.setdefault((entry.agent_id, entry.round), []).append((item.id, entry.sections))
    return claims


def round_diffs(state: DebateState, agents: Sequence[str]) -> dict[int, list[AgentDiff]]:
    """Round -> each agent's diff of that round, in the panel's order (``agents``: the ids in the
    config's order; agents no longer in it follow). An agent's diff compares its design going
    into the round (its proposal in round 1, else its latest refinement) with its refinement."""
    designs = sorted(
        (c for c in state.get("contributions", []) if c.type in DESIGNS), key=lambda c: c.position
    )
    claims = _claims(ledger.of_state(state, agents))
    found: dict[int, list[AgentDiff]] = {}
    for agent in dict.fromkeys([*agents, *(c.agent_id for c in designs)]):
        latest: Contribution | None = None
        for design in (c for c in designs if c.agent_id == agent):
            if design.type == "refinement" and latest is not None:
                changes = diff(latest.content, design.content, claims.get((agent, design.round), []))
                found.setdefault(design.round, []).append(AgentDiff(agent, design.round, changes))
            latest = design
    return dict(sorted(found.items()))
