"""The issue ledger: every point a critique raises, tracked from raised to resolved.

The state keeps what the agents said, as append-only entries (``LedgerEntry``): findings their
critiques raised, verdicts critics gave on the answers to their items, and the responses
refinements gave. Everything else is a pure function of those entries: the items with their
ids and statuses, what each prompt shows, the open items a termination condition looks at, and
the position-change signals.

Ids (``I1``, ``I2``…) number the findings in a fixed order — by round, then critic and target
ids, then position in the critique — so the calls of a phase, which run in
parallel and may be retried or resumed, always give the same ids; a round's items are numbered
once its critiques are all in, before any refinement sees them.

Statuses: ``open`` (no answer yet) → ``accepted`` / ``rebutted`` / ``deferred`` (the author's
response) → ``closed`` / ``reopened`` (the critic's verdict on a rebuttal or a deferral) →
answered again. ``open`` and ``reopened`` are the open ones.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from dialectic.debate.blocks import SEVERITIES

# Annotations only: the state module imports LangGraph, which `dialectic report` never needs.
if TYPE_CHECKING:
    from dialectic.debate.state import DebateState, LedgerEntry

Status = Literal["open", "accepted", "rebutted", "deferred", "closed", "reopened"]
OPEN: frozenset[str] = frozenset({"open", "reopened"})
AWAITING_VERDICT: frozenset[str] = frozenset({"rebutted", "deferred"})
# A reopening whose argument repeats this share of its words from what was said before about
# the item brings nothing new.
SAME_ARGUMENT = 0.6


@dataclass
class Item:
    id: str
    title: str
    severity: str
    perspective: str
    evidence: str
    suggestion: str
    raised_by: str
    target: str
    round: int
    status: Status = "open"
    history: list[LedgerEntry] = field(default_factory=list)  # responses and verdicts, in order

    @property
    def is_open(self) -> bool:
        return self.status in OPEN

    @property
    def contested(self) -> bool:
        """The critic still disagrees: it reopened the item, and the author's answer since (if
        any) is a rebuttal (the dissent of an architecture decision record). A rebuttal the
        critic has not ruled on yet is not dissent: the critic may still close it."""
        reopened = any(e.kind == "verdict" and e.answer == "reopen" for e in self.history)
        return self.status == "reopened" or (self.status == "rebutted" and reopened)

    def unresolved(self, round_number: int) -> bool:
        """Still in dispute at the end of this round: open, or answered in this round with a
        rebuttal or deferral its critic has not had the chance to rule on."""
        answer = self.last("response")
        fresh = answer is not None and answer.round == round_number and self.status in AWAITING_VERDICT
        return self.is_open or fresh

    @property
    def settled(self) -> bool:
        """Accepted by its author, or closed by its critic."""
        return self.status in ("accepted", "closed")

    def last(self, kind: str) -> LedgerEntry | None:
        found = [e for e in self.history if e.kind == kind]
        return found[-1] if found else None


def _order(entry: LedgerEntry) -> tuple[int, int, str, str, int]:
    # By agent id, not the config's order: a fork may list the same agents in another order,
    # and the ids the models were shown must not move.
    phase = 2 if entry.kind == "response" else 1  # critiques (raised, verdicts) come before refinements
    return (entry.round, phase, entry.agent_id, entry.target_agent_id or "", entry.index)


def items(entries: Iterable[LedgerEntry], agents: Sequence[str]) -> list[Item]:
    """Every item with its status, in id order. ``agents``: the panel's ids in config order."""
    ordered = sorted(entries, key=_order)
    found: dict[str, Item] = {}
    for entry in ordered:
        if entry.kind == "raised":
            item_id = f"I{len(found) + 1}"
            found[item_id] = Item(
                id=item_id,
                title=entry.title,
                severity=entry.severity,
                perspective=entry.perspective,
                evidence=entry.evidence,
                suggestion=entry.suggestion,
                raised_by=entry.agent_id,
                target=entry.target_agent_id or "",
                round=entry.round,
            )
            continue
        item = found.get(entry.item_id or "")
        if item is None or not _may(entry, item):
            continue  # an id the model made up, or a say that is not its to give
        item.history.append(entry)
        if entry.kind == "response":
            item.status = entry.answer  # type: ignore[assignment]
        else:
            item.status = "closed" if entry.answer == "close" else "reopened"
    return list(found.values())


def _may(entry: LedgerEntry, item: Item) -> bool:
    """Only the author answers an item, and only while it is open; only its critic rules on an
    answer, and only on a rebuttal or a deferral."""
    if entry.kind == "response":
        return entry.agent_id == item.target and item.status in OPEN
    return entry.agent_id == item.raised_by and item.status in AWAITING_VERDICT


def of_state(state: DebateState, agents: Sequence[str]) -> list[Item]:
    return items(state.get("ledger", []), agents)


def at_least(severity: str, threshold: str) -> bool:
    return SEVERITIES.index(severity) <= SEVERITIES.index(threshold)


def open_at_least(found: Iterable[Item], threshold: str) -> list[Item]:
    return [item for item in found if item.is_open and at_least(item.severity, threshold)]


# --- what prompts show ----------------------------------------------------------------------------


def open_against(found: Iterable[Item], author: str) -> list[Item]:
    return [item for item in found if item.target == author and item.is_open]


def awaiting_verdict(found: Iterable[Item], critic: str, target: str | None) -> list[Item]:
    return [
        item
        for item in found
        if item.raised_by == critic
        and (target is None or item.target == target)
        and item.status in AWAITING_VERDICT
    ]


def _line(text: str, limit: int = 400) -> str:
    """One line, at most ``limit`` characters (what a model wrote is bounded in later prompts)."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def open_items_text(found: Sequence[Item]) -> str:
    """The refinement's list of the open items against its author (empty: none)."""
    lines = []
    for item in found:
        suggestion = f" Suggested: {_line(item.suggestion)}" if item.suggestion.strip() else ""
        lines.append(
            f"- **{item.id}** ({item.severity}, raised by {item.raised_by} in round {item.round}): "
            f"{_line(item.title)}.{suggestion}"
        )
        reopened = item.last("verdict")
        if item.status == "reopened" and reopened is not None:
            lines.append(
                f"  - reopened by {item.raised_by} in round {reopened.round}: {_line(reopened.text)}"
            )
    return "\n".join(lines)


def verdicts_due_text(found: Sequence[Item]) -> str:
    """The critic's items against a design that await its verdict (empty: none)."""
    lines = []
    for item in found:
        answer = item.last("response")
        note = f": {_line(answer.text)}" if answer is not None and answer.text.strip() else ""
        lines.append(
            f"- **{item.id}** ({item.severity}, round {item.round}): {_line(item.title)}. The author *{item.status}* it{note}"
        )
    return "\n".join(lines)


def judge_text(found: Sequence[Item]) -> str:
    """What the judge rules on: the items still open or contested, compactly; the count of the rest."""
    left = [item for item in found if not item.settled]
    settled = len(found) - len(left)
    lines = [f"{len(found)} items were raised; {settled} were settled (accepted, or closed by their critic)."]
    for item in left:
        answer = item.last("response")
        verdict = item.last("verdict")
        said = []
        if answer is not None:
            said.append(f"{item.target} {answer.answer} it: {_line(answer.text)}")
        if verdict is not None and item.status == "reopened":
            said.append(f"{item.raised_by} reopened it: {_line(verdict.text)}")
        lines.append(
            f"- **{item.id}** ({item.severity}, {item.status}; {item.raised_by} on {item.target}'s design): "
            f"{_line(item.title)}." + (" " + " ".join(said) if said else " Nobody answered it.")
        )
    return "\n".join(lines)


# --- position-change signals ----------------------------------------------------------------------


@dataclass
class Signals:
    raised: int = 0  # items it raised as a critic
    accepted: int = 0  # responses of it as an author
    rebutted: int = 0
    deferred: int = 0
    reopened: int = 0  # verdicts of it as a critic
    closed: int = 0
    # Accepting an item it had rebutted (or deferred) when its critic brought no new argument
    # since: a cheap, label-free sign of giving in rather than being persuaded.
    concessions_without_new_argument: int = 0


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]{3,}", text.lower()))


def new_argument(argument: str, before: Iterable[str]) -> bool:
    """Whether a reopening argues something not said before about the item."""
    words = _words(argument)
    said = set().union(*(_words(text) for text in before))
    fresh = words - said
    return len(fresh) >= 3 and len(fresh) / len(words) > 1 - SAME_ARGUMENT


def signals(found: Iterable[Item], agents: Sequence[str]) -> dict[str, Signals]:
    per: dict[str, Signals] = {agent: Signals() for agent in agents}
    for item in found:
        per.setdefault(item.raised_by, Signals()).raised += 1
        said = [item.title, item.evidence, item.suggestion]
        disagreed = False  # the author rebutted or deferred it before
        fresh = False  # the critic brought a new argument since
        for entry in item.history:
            if entry.kind == "response":
                author = per.setdefault(entry.agent_id, Signals())
                setattr(author, entry.answer, getattr(author, entry.answer) + 1)
                if entry.answer == "accepted" and disagreed and not fresh:
                    author.concessions_without_new_argument += 1
                if entry.answer in ("rebutted", "deferred"):
                    disagreed, fresh = True, False
            else:
                critic = per.setdefault(entry.agent_id, Signals())
                if entry.answer == "reopen":
                    critic.reopened += 1
                    fresh = fresh or new_argument(entry.text, said)
                else:
                    critic.closed += 1
            said.append(entry.text)
    return per
