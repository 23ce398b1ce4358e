"""Reading evaluator replies: the JSON object around chatter and fences, scores, verdicts."""

import pytest

from dialectic.evaluation.metrics import METRICS
from dialectic.evaluation.parsing import as_number, clamp, first_json_object, read_score, read_verdict

SECURITY = next(m for m in METRICS if m.key == "security")
OVERALL = next(m for m in METRICS if m.key == "overall_score")


@pytest.mark.parametrize(
    "text",
    [
        '{"a": 1}',
        '```json\n{"a": 1}\n```',
        '```\n{"a": 1}\n```\n',
        'Here is my evaluation:\n\n```json\n{"a": 1}\n```\nHope it helps.',
        'Sure. {"a": 1} That is all.',
        'Scores use {braces} in prose first, then {"a": 1}',
        '  \n{"a": 1}\n\n{"b": 2}',
    ],
)
def test_first_json_object_tolerates_fences_and_text_around_it(text):
    assert first_json_object(text) == {"a": 1}


def test_first_json_object_keeps_nested_objects_and_braces_in_strings():
    text = 'Result: {"evaluation": {"security": {"score": 7, "reasoning": "uses {tokens}"}}} end'
    assert first_json_object(text) == {"evaluation": {"security": {"score": 7, "reasoning": "uses {tokens}"}}}


@pytest.mark.parametrize("text", ["", "no json here", '{"a": 1', "[1, 2, 3]", "null"])
def test_first_json_object_is_none_without_an_object(text):
    assert first_json_object(text) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (7, 7.0),
        (7.5, 7.5),
        ("8", 8.0),
        (" 9 ", 9.0),
        (True, None),
        (None, None),
        ("seven", None),
        (float("nan"), None),
        ("inf", None),
        ([7], None),
        ({"score": 7}, None),
    ],
)
def test_as_number(value, expected):
    assert as_number(value) == expected


def test_clamp_to_one_to_ten():
    assert (clamp(0), clamp(-3), clamp(11), clamp(5.5)) == (1.0, 1.0, 10.0, 5.5)


def test_read_score_present():
    reply = {"evaluation": {"non_functional": {"security": {"score": 6, "reasoning": "x"}}}}
    assert read_score(reply, SECURITY) == (6, None)


def test_read_score_missing_warns():
    score, warning = read_score({"evaluation": {}}, SECURITY)
    assert score is None
    assert warning == "no score for evaluation.non_functional.security.score; ignored"


def test_read_score_non_numeric_warns():
    reply = {"overall_summary": {"overall_score": "excellent"}}
    score, warning = read_score(reply, OVERALL)
    assert score is None
    assert "overall_summary.overall_score is not a number" in warning and "excellent" in warning


@pytest.mark.parametrize(("raw", "clamped"), [(12, 10.0), (0, 1.0), (-4, 1.0), (10.5, 10.0)])
def test_read_score_clamps_with_a_warning(raw, clamped):
    score, warning = read_score({"overall_summary": {"overall_score": raw}}, OVERALL)
    assert score == clamped
    assert f"outside 1–10; clamped to {clamped:g}" in warning


def test_read_score_accepts_a_bare_number_instead_of_a_score_object():
    reply = {"evaluation": {"non_functional": {"security": "8"}}}
    assert read_score(reply, SECURITY) == (8.0, None)


@pytest.mark.parametrize(
    ("winner", "verdict"),
    [
        ("1", "1"),
        ("2", "2"),
        (1, "1"),
        (2, "2"),
        ("tie", "tie"),
        ("Tie", "tie"),
        ("Design 2", "2"),
        ("second", "2"),
        ("neither", "tie"),
        ("1 or 2", None),
        ("", None),
        (None, None),
        (True, None),
        ("A", None),
    ],
)
def test_read_verdict(winner, verdict):
    assert read_verdict({"winner": winner}) == verdict


def test_read_verdict_without_winner_key():
    assert read_verdict({"better": "1"}) is None
