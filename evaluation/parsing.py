"""Reading an evaluator's reply: the JSON object in it, a metric's score, a pairwise verdict.

Models wrap JSON in code fences or chat around it, and custom prompts may ask for less than
every metric, so everything here is lenient: it finds what is there and says what was not.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Literal

from pydantic import JsonValue

from dialectic.evaluation.metrics import METRICS, SCORE_MAX, SCORE_MIN, Metric

JsonObject = dict[str, JsonValue]
Verdict = Literal["1", "2", "tie"]

_SCORE: JsonObject = {"type": "integer", "minimum": SCORE_MIN, "maximum": SCORE_MAX}
_GRADE: JsonObject = {
    "type": "object",
    "properties": {"score": _SCORE, "reasoning": {"type": "string"}},
    "required": ["score", "reasoning"],
}
# The reply shapes, sent as a (non-strict) response format: a provider that supports structured
# output returns exactly this; any other reply is still parsed leniently. Metrics stay optional
# because the prompts allow leaving out a quality the design gives no basis for.
SCORES_SCHEMA: JsonObject = {
    "type": "object",
    "properties": {
        "evaluation": {
            "type": "object",
            "properties": {
                "functional_completeness": _GRADE,
                "non_functional": {
                    "type": "object",
                    "properties": {m.key: _GRADE for m in METRICS if m.non_functional},
                },
            },
        },
        "overall_summary": {
            "type": "object",
            "properties": {
                "strengths": {"type": "string"},
                "weaknesses": {"type": "string"},
                "overall_score": _SCORE,
            },
        },
    },
    "required": ["evaluation", "overall_summary"],
}
VERDICT_SCHEMA: JsonObject = {
    "type": "object",
    "properties": {"winner": {"type": "string", "enum": ["1", "2", "tie"]}, "reasoning": {"type": "string"}},
    "required": ["winner", "reasoning"],
}


def response_format(name: str, schema: JsonObject) -> dict[str, JsonValue]:
    return {"type": "json_schema", "json_schema": {"name": name, "schema": schema, "strict": False}}


_FENCE = re.compile(r"^\s*(`{3,}|~{3,})[^\n]*\n(.*?)\n\s*\1\s*$", re.S)


def first_json_object(text: str) -> JsonObject | None:
    """The first JSON object in ``text``: the whole text, the inside of a code fence, or the
    first ``{`` from which a complete object parses (text before and after is ignored)."""
    fenced = _FENCE.match(text)
    candidates = [fenced.group(2)] if fenced else []
    candidates.append(text)
    decoder = json.JSONDecoder()
    for candidate in candidates:
        start = candidate.find("{")
        while start != -1:
            try:
                value, _ = decoder.raw_decode(candidate, start)
            except json.JSONDecodeError:
                start = candidate.find("{", start + 1)
                continue
            if isinstance(value, dict):
                return value
            start = candidate.find("{", start + 1)
    return None


def as_number(value: object) -> float | None:
    """A finite number, from a JSON number or a numeric string; None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def clamp(score: float) -> float:
    return min(float(SCORE_MAX), max(float(SCORE_MIN), score))


_MISSING = object()


def _lookup(reply: Mapping[str, object], path: tuple[str, ...]) -> object:
    node: object = reply
    for index, key in enumerate(path):
        if not isinstance(node, Mapping) or key not in node:
            # ``{"security": 7}`` instead of ``{"security": {"score": 7}}``: take the number.
            if index == len(path) - 1 and key == "score" and as_number(node) is not None:
                return node
            return _MISSING
        node = node[key]
    return node


def read_score(reply: Mapping[str, object], metric: Metric) -> tuple[float | None, str | None]:
    """The metric's score, clamped to 1–10, and a warning if it was missing, not a number, or
    out of range."""
    raw = _lookup(reply, metric.path)
    if raw is _MISSING or raw is None:
        return None, f"no score for {metric.dotted}; ignored"
    number = as_number(raw)
    if number is None:
        return None, f"{metric.dotted} is not a number ({json.dumps(raw)[:40]}); ignored"
    clamped = clamp(number)
    if clamped != number:
        return (
            clamped,
            f"{metric.dotted} {number:g} is outside {SCORE_MIN}–{SCORE_MAX}; clamped to {clamped:g}",
        )
    return number, None


_VERDICT_WORDS: dict[str, Verdict] = {
    "1": "1",
    "2": "2",
    "one": "1",
    "two": "2",
    "first": "1",
    "second": "2",
    "tie": "tie",
    "draw": "tie",
    "equal": "tie",
    "neither": "tie",
    "none": "tie",
    "both": "tie",
}


def read_verdict(reply: Mapping[str, object]) -> Verdict | None:
    """``winner`` as "1", "2" or "tie"; also 1/2 as numbers and "Design 2"-style strings."""
    value = reply.get("winner")
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return None
    words = re.findall(r"[a-z0-9]+", value.lower())
    found = {_VERDICT_WORDS[word] for word in words if word in _VERDICT_WORDS}
    return found.pop() if len(found) == 1 else None
