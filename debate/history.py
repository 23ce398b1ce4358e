"""Pure functions that turn the debate state into the text of prompts.

What an agent sees of its past: its latest summary (if summarization fired), then the real text
of everything after what that summary covers. Positions are ``(round, phase order)``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from dialectic.debate import diffs
from dialectic.debate.clarifications import NA
from dialectic.debate.state import (
    AgentClarifications,
    Contribution,
    DebateState,
    ExtensionRun,
    SteeringNote,
    Summary,
)
from dialectic.prompts import embed

Position = tuple[int, int]


def aimed_at(contribution: Contribution, agent_id: str) -> bool:
    """A critique the agent received: aimed at it, or a batched critique (aimed at every peer)
    by another agent."""
    return contribution.type == "critique" and (
        contribution.target_agent_id == agent_id
        or (contribution.target_agent_id is None and contribution.agent_id != agent_id)
    )


def own_entries(contributions: Iterable[Contribution], agent_id: str) -> list[Contribution]:
    """An agent's history: what it wrote and the critiques it received. Carried proposals are
    left out: they repeat the previous refinement word for word."""
    return [c for c in contributions if not c.carried and (c.agent_id == agent_id or aimed_at(c, agent_id))]


def latest_summary(summaries: Iterable[Summary], agent_id: str, round_number: int) -> Summary | None:
    """The agent's summary in force in this round: its newest, its parts joined (material larger
    than one prompt holds is summarised in parts, see ``dialectic.debate.ceiling``)."""
    mine = [s for s in summaries if s.agent_id == agent_id and s.for_round <= round_number]
    # The newest with all its parts (a part that failed for good leaves the material it was to
    # cover to the summary before and the raw text after it).
    for newest in sorted({s.for_round for s in mine}, reverse=True):
        found = sorted({s.part: s for s in mine if s.for_round == newest}.values(), key=lambda s: s.part)
        if len(found) >= found[0].parts:
            break
    else:
        return None
    if len(found) == 1:
        return found[0]
    return found[0].model_copy(
        update={
            "text": "\n\n".join(s.text.strip() for s in found),
            "after_chars": sum(s.after_chars for s in found),
            "latency_ms": max(s.latency_ms for s in found),
            "tokens_used": sum(s.tokens_used for s in found),
        }
    )


def render_entry(entry: Contribution, agent_id: str, *, current: bool = False) -> str:
    """One entry of an agent's history; ``current``: the agent's newest design."""
    if current:
        title = f"Round {entry.round}: your current design (your {entry.type})"
    elif aimed_at(entry, agent_id):
        title = f"Round {entry.round}: critique of your proposal by {entry.agent_id}"
    elif entry.type == "critique":
        title = f"Round {entry.round}: your critique of {entry.target_agent_id or 'every peer'}"
    elif entry.type == "proposal":
        title = f"Round {entry.round}: your proposal"
    else:
        title = f"Round {entry.round}: your refined proposal"
    return f"### {title}\n\n{embed(entry.content.strip())}\n"


@dataclass(frozen=True)
class JudgeReading:
    """What the judge reads of the debate before the final proposals: each panelist's own
    summary in force (when every panelist who spoke has one), the judge's own summary where it
    covers more than those, and the raw transcript after ``floor``."""

    panel: list[Summary]
    own: Summary | None
    floor: Position


def judge_reading(state: DebateState, judge_id: str, for_round: int) -> JudgeReading:
    """The judge's reading with the summaries made for rounds up to ``for_round``."""
    summaries = state.get("summaries", [])
    speakers = dict.fromkeys(c.agent_id for c in state.get("contributions", []))
    found = [latest_summary(summaries, agent_id, for_round) for agent_id in speakers]
    panel = [s for s in found if s is not None] if found and None not in found else []
    panel_floor = min((s.covers_through for s in panel), default=(0, -1))
    own = latest_summary(summaries, judge_id, for_round)
    if own is not None and own.covers_through <= panel_floor:
        own = None  # the panelists' summaries cover all it covers
    return JudgeReading(panel, own, max(panel_floor, own.covers_through if own else (0, -1)))


def panel_text(panel: Sequence[Summary]) -> str:
    return "\n".join(
        f"### {s.agent_id} ({s.agent_role}), in its own summary\n\n{embed(s.text.strip())}\n" for s in panel
    )


def history_material(
    state: DebateState,
    agent_id: str,
    round_number: int,
    before: Position,
    exclude: Sequence[Contribution] = (),
) -> tuple[Summary | None, list[Contribution]]:
    """The summary in force and the raw entries after it, before ``before``."""
    summary = latest_summary(state.get("summaries", []), agent_id, round_number)
    floor = summary.covers_through if summary else (0, -1)
    entries = [
        c
        for c in own_entries(state.get("contributions", []), agent_id)
        if floor < c.position < before and c not in exclude
    ]
    return summary, entries


def history_text(summary: Summary | None, entries: Sequence[Contribution], agent_id: str) -> str:
    parts = []
    if summary is not None:
        parts.append(f"### Summary of your earlier contributions\n\n{embed(summary.text.strip())}\n")
    designs = [e for e in entries if e.agent_id == agent_id and e.type in ("proposal", "refinement")]
    newest = designs[-1] if designs else None
    parts.extend(render_entry(entry, agent_id, current=entry is newest) for entry in entries)
    return "\n".join(parts)


def section(title: str, body: str) -> str:
    """A prompt section that disappears entirely when it has nothing to say."""
    return f"\n## {title}\n\n{body.strip()}\n" if body.strip() else ""


def agent_history(
    state: DebateState,
    agent_id: str,
    round_number: int,
    before: Position,
    exclude: Sequence[Contribution] = (),
) -> str:
    summary, entries = history_material(state, agent_id, round_number, before, exclude)
    return section("Your history in this debate", history_text(summary, entries, agent_id))


def clarifications_text(clarifications: Sequence[AgentClarifications]) -> str:
    lines = []
    for group in clarifications:
        for item in group.items:
            lines.append(f"- **{item.question}** ({group.agent_name}) — {_indented(item.answer)}")
    if any(item.answer == NA for group in clarifications for item in group.items):
        lines.append("\n(NA: the owner did not answer; state the assumption you make instead.)")
    return section("Clarifications from the problem's owner", "\n".join(lines))


def steering_notes_text(notes: Sequence[SteeringNote]) -> str:
    """The user's steering notes; later notes win where they disagree with earlier material."""
    if not notes:
        return ""
    lines = [
        "The problem's owner added these notes during the debate. Follow them; where a note "
        "contradicts earlier material (including your own proposals), the note wins.",
        "",
        *(f"- After round {note.after_round}: {_indented(embed(note.text))}" for note in notes),
    ]
    return section("Notes from the problem's owner", "\n".join(lines))


def _indented(text: str) -> str:
    """A multi-line note kept inside its list item."""
    return text.strip().replace("\n", "\n  ")


def extension_notes_text(runs: Sequence[ExtensionRun], agent_id: str | None) -> str:
    """The notes extensions left for an agent (``None``: the judge): per extension, its latest
    notes for everyone, then its latest notes for this agent. Empty notes withdraw earlier ones."""
    shared: dict[str, str] = {}
    own: dict[str, str] = {}
    for run in runs:
        if run.notes is not None:
            shared[run.name] = run.notes
        if run.agent_notes is not None and agent_id is not None:
            own[run.name] = run.agent_notes.get(agent_id, "")
    parts = [f"From *{name}*:\n\n{embed(text)}\n" for name, text in shared.items() if text.strip()]
    parts += [f"From *{name}*, for you:\n\n{embed(text)}\n" for name, text in own.items() if text.strip()]
    return section("Notes", "\n".join(parts))


def notes_text(state: DebateState, agent_id: str | None) -> str:
    """Every note a prompt carries: the user's steering notes, then the extensions' notes for
    this agent (``None``: the judge)."""
    return steering_notes_text(state.get("steering_notes", [])) + extension_notes_text(
        state.get("extension_runs", []), agent_id
    )


def round_contributions(state: DebateState, round_number: int, kind: str) -> list[Contribution]:
    return [c for c in state.get("contributions", []) if c.round == round_number and c.type == kind]


def proposals_text(proposals: Sequence[Contribution]) -> str:
    return "\n".join(f"### {p.agent_id} ({p.agent_role})\n\n{p.content.strip()}\n" for p in proposals)


def critiques_text(critiques: Sequence[Contribution]) -> str:
    if not critiques:
        return "(No critiques arrived this round; refine your proposal on your own judgement.)"
    return "\n".join(
        f"### Critique from {c.agent_id} ({c.agent_role})\n\n{c.content.strip()}\n" for c in critiques
    )


# The section of a refinement where its author answers the critiques (the built-in refine
# prompts ask for it).
ANSWERS = "Response to Critiques"


def transcript_entries(contributions: Iterable[Contribution], after: Position, before: Position) -> list[str]:
    """The debate between two positions as the judge reads it: the critiques, and how each
    author answered them. The designs themselves are left out: the judge reads each panelist's
    final design in full, which supersedes its earlier ones."""
    entries = []
    for c in contributions:
        if not after < c.position < before:
            continue
        if c.type == "critique":
            target = c.target_agent_id or "every peer"
            entries.append(
                f"### Round {c.round}: {c.agent_id} critiques {target}\n\n{embed(c.content.strip())}\n"
            )
        elif c.type == "refinement" and (answers := diffs.section_text(c.content, ANSWERS)):
            entries.append(
                f"### Round {c.round}: {c.agent_id} answers the critiques of its design\n\n{embed(answers)}\n"
            )
    return entries
