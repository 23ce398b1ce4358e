"""Searching the debate so far: which contributions mention a term, and what they say around it.

The TypeScript tool shows the first 200 characters of a matching contribution, which often misses
the match entirely; here each snippet is cut around the matches themselves.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypedDict

from dialectic.tools.text import snippet_around

MAX_DEBATE_MATCHES = 20
# Enough to judge a mention in context without pasting whole contributions back to the model.
_SNIPPET_RADIUS = 80
_SNIPPETS_PER_CONTRIBUTION = 3


@dataclass(frozen=True)
class ContributionRecord:
    """One contribution of the debate as the search sees it."""

    round: int
    agent_id: str
    agent_role: str
    type: str  # "proposal", "critique", "refinement", …
    content: str


class DebateMatch(TypedDict):
    # The TypeScript tool's keys, so prompts written for it read these results unchanged.
    roundNumber: int
    agentId: str
    agentRole: str
    type: str
    contentSnippet: str  # the text around up to three matches, "…" marking each cut
    occurrences: int


def search_debate(
    records: Iterable[ContributionRecord], term: str, *, limit: int = MAX_DEBATE_MATCHES
) -> list[DebateMatch]:
    """Contributions containing ``term`` (case-insensitive substring), most mentions first, ties
    in debate order, at most ``limit``."""
    if not term:
        return []
    pattern = re.compile(re.escape(term), re.IGNORECASE)
    matches = [match for record in records if (match := _match(record, pattern)) is not None]
    matches.sort(key=lambda match: -match["occurrences"])  # stable: ties keep debate order
    return matches[:limit]


def _match(record: ContributionRecord, pattern: re.Pattern[str]) -> DebateMatch | None:
    spans = [found.span() for found in pattern.finditer(record.content)]
    if not spans:
        return None
    return DebateMatch(
        roundNumber=record.round,
        agentId=record.agent_id,
        agentRole=record.agent_role,
        type=record.type,
        contentSnippet=_snippets(record.content, spans),
        occurrences=len(spans),
    )


def _snippets(content: str, spans: list[tuple[int, int]]) -> str:
    # Windows that overlap are merged so a passage mentioning the term twice is shown once.
    windows: list[tuple[int, int]] = []
    for start, end in spans:
        if windows and start - _SNIPPET_RADIUS <= windows[-1][1] + _SNIPPET_RADIUS:
            windows[-1] = (windows[-1][0], end)
        elif len(windows) < _SNIPPETS_PER_CONTRIBUTION:
            windows.append((start, end))
        else:
            break
    return " ".join(snippet_around(content, start, end, _SNIPPET_RADIUS) for start, end in windows)
