"""Pairwise comparison (issue 6 §6): each evaluator sees both final solutions twice, once in each
order. A verdict counts only when the two orders agree; otherwise the pair is a tie and a
contradiction, and the share of contradictions is the position-bias rate."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from dialectic.evaluation.output import Rendered, markdown_table
from dialectic.evaluation.parsing import Verdict
from dialectic.evaluation.state import Order

Choice = Literal["A", "B", "tie"]

COLUMNS: tuple[str, ...] = (
    "debate A",
    "debate B",
    "A wins",
    "B wins",
    "Ties",
    "Contradictions",
    "Pairs",
    "Position bias rate",
    "Verdict",
)


def choice(verdict: Verdict, order: Order) -> Choice:
    """Which debate a verdict about "Design 1"/"Design 2" picks, given the order shown."""
    if verdict == "tie":
        return "tie"
    picked_first = verdict == "1"
    a_first = order == "AB"
    return "A" if picked_first == a_first else "B"


@dataclass(frozen=True)
class Pair:
    """One evaluator's two verdicts (one per order) in one run; None for a failed call."""

    evaluator_id: str
    run: int
    a_first: Choice | None
    b_first: Choice | None
    reasons: tuple[str, str] = ("", "")

    @property
    def complete(self) -> bool:
        return self.a_first is not None and self.b_first is not None

    @property
    def contradiction(self) -> bool:
        return self.complete and self.a_first != self.b_first

    @property
    def counted(self) -> Choice | None:
        if not self.complete:
            return None
        return "tie" if self.contradiction else self.a_first

    @property
    def preferred_position(self) -> Literal["first", "second"] | None:
        """In a contradiction with a winner each time: did the first- or second-shown win twice?"""
        if (self.a_first, self.b_first) == ("A", "B"):
            return "first"
        if (self.a_first, self.b_first) == ("B", "A"):
            return "second"
        return None


@dataclass(frozen=True)
class Tally:
    a_wins: int
    b_wins: int
    ties: int
    contradictions: int
    pairs: int  # complete pairs: both orders answered
    first_shown_preferred: int
    second_shown_preferred: int

    @property
    def position_bias_rate(self) -> float | None:
        return round(self.contradictions / self.pairs, 2) if self.pairs else None

    @property
    def winner(self) -> Choice:
        if self.a_wins == self.b_wins:
            return "tie"
        return "A" if self.a_wins > self.b_wins else "B"


def tally(pairs: Sequence[Pair]) -> Tally:
    counted = [pair.counted for pair in pairs if pair.complete]
    return Tally(
        a_wins=counted.count("A"),
        b_wins=counted.count("B"),
        ties=counted.count("tie"),
        contradictions=sum(pair.contradiction for pair in pairs),
        pairs=len(counted),
        first_shown_preferred=sum(pair.preferred_position == "first" for pair in pairs),
        second_shown_preferred=sum(pair.preferred_position == "second" for pair in pairs),
    )


@dataclass(frozen=True)
class Comparison:
    a_name: str
    b_name: str
    pairs: Sequence[Pair]
    cost_usd: float = 0.0  # of the evaluator calls (those with a known price)

    @property
    def tally(self) -> Tally:
        return tally(self.pairs)


def _shown(value: Choice | None) -> str:
    return "failed" if value is None else value


def render_comparison(comparison: Comparison) -> Rendered:
    result = comparison.tally
    rate = result.position_bias_rate
    values = {
        "debate A": comparison.a_name,
        "debate B": comparison.b_name,
        "A wins": str(result.a_wins),
        "B wins": str(result.b_wins),
        "Ties": str(result.ties),
        "Contradictions": str(result.contradictions),
        "Pairs": str(result.pairs),
        "Position bias rate": "" if rate is None else f"{rate:.2f}",
        "Verdict": result.winner,
    }
    summary_row = [*(values[c] for c in COLUMNS[:7]), "N/A" if rate is None else f"{rate:.0%}", result.winner]
    detail = [
        [
            pair.evaluator_id,
            str(pair.run),
            _shown(pair.a_first),
            _shown(pair.b_first),
            "—"
            if pair.counted is None
            else pair.counted + (" (contradiction)" if pair.contradiction else ""),
        ]
        for pair in comparison.pairs
    ]
    markdown = (
        markdown_table(COLUMNS, [summary_row])
        + f"\nA = {comparison.a_name}, B = {comparison.b_name}. A verdict counts only when both orders agree; "
        "a contradiction counts as a tie.\n\n"
        + markdown_table(["Evaluator", "Run", "A shown first", "B shown first", "Counted"], detail)
    )
    document: dict[str, Any] = {
        "comparison": {
            "a": comparison.a_name,
            "b": comparison.b_name,
            "winner": result.winner,
            "a_wins": result.a_wins,
            "b_wins": result.b_wins,
            "ties": result.ties,
            "pairs": result.pairs,
            "contradictions": result.contradictions,
            "position_bias_rate": rate,
            "first_shown_preferred": result.first_shown_preferred,
            "second_shown_preferred": result.second_shown_preferred,
        },
        "verdicts": [
            {
                "evaluator": pair.evaluator_id,
                "run": pair.run,
                "a_shown_first": pair.a_first,
                "b_shown_first": pair.b_first,
                "counted": pair.counted,
                "reasoning": {"a_shown_first": pair.reasons[0], "b_shown_first": pair.reasons[1]},
            }
            for pair in comparison.pairs
        ],
    }
    return Rendered(document, COLUMNS, values, markdown)
