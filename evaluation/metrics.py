"""The metrics an evaluator grades: where each sits in the reply and how outputs label it.

The order is the order of the CSV and Markdown columns (spec §5).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    path: tuple[str, ...]  # where an evaluator's reply holds the score

    @property
    def dotted(self) -> str:
        return ".".join(self.path)

    @property
    def non_functional(self) -> bool:
        return "non_functional" in self.path


def _non_functional(key: str, label: str) -> Metric:
    return Metric(key, label, ("evaluation", "non_functional", key, "score"))


METRICS: tuple[Metric, ...] = (
    Metric(
        "functional_completeness",
        "Functional Completeness",
        ("evaluation", "functional_completeness", "score"),
    ),
    _non_functional("performance_scalability", "Performance & Scalability"),
    _non_functional("security", "Security"),
    _non_functional("maintainability_evolvability", "Maintainability & Evolvability"),
    _non_functional("regulatory_compliance", "Regulatory Compliance"),
    _non_functional("testability", "Testability"),
    _non_functional("requirements_fulfillment", "Requirements Fulfillment"),
    Metric("overall_score", "Overall Score", ("overall_summary", "overall_score")),
)

SCORE_MIN, SCORE_MAX = 1, 10
