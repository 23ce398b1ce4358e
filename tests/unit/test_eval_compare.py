"""Pairwise comparison: verdicts count only when both orders agree; position bias is reported."""

import pytest

from dialectic.evaluation.compare import COLUMNS, Comparison, Pair, choice, render_comparison, tally


@pytest.mark.parametrize(
    ("verdict", "order", "picked"),
    [
        ("1", "AB", "A"),
        ("2", "AB", "B"),
        ("1", "BA", "B"),
        ("2", "BA", "A"),
        ("tie", "AB", "tie"),
        ("tie", "BA", "tie"),
    ],
)
def test_choice_maps_the_shown_position_to_the_debate(verdict, order, picked):
    assert choice(verdict, order) == picked


def test_agreeing_orders_count():
    pair = Pair("e1", 1, "A", "A")
    assert pair.complete and not pair.contradiction and pair.counted == "A"


def test_disagreeing_orders_are_a_tie_and_a_contradiction():
    first_bias = Pair("e1", 1, "A", "B")  # picked whichever was shown first
    assert first_bias.contradiction and first_bias.counted == "tie"
    assert first_bias.preferred_position == "first"
    assert Pair("e1", 1, "B", "A").preferred_position == "second"
    half = Pair("e1", 1, "tie", "B")
    assert half.contradiction and half.counted == "tie" and half.preferred_position is None


def test_an_incomplete_pair_does_not_count():
    pair = Pair("e1", 1, "A", None)
    assert not pair.complete and not pair.contradiction and pair.counted is None


def test_tally_and_position_bias_rate():
    pairs = [
        Pair("e1", 1, "A", "A"),
        Pair("e2", 1, "A", "B"),
        Pair("e3", 1, "B", "B"),
        Pair("e4", 1, "A", "A"),
        Pair("e5", 1, "tie", "tie"),
        Pair("e6", 1, None, "A"),
    ]
    result = tally(pairs)
    assert (result.a_wins, result.b_wins, result.ties, result.pairs) == (2, 1, 2, 5)
    assert result.contradictions == 1
    assert result.position_bias_rate == 0.2
    assert result.first_shown_preferred == 1 and result.second_shown_preferred == 0
    assert result.winner == "A"


def test_even_wins_are_a_tie_and_no_pairs_have_no_rate():
    assert tally([Pair("e1", 1, "A", "A"), Pair("e2", 1, "B", "B")]).winner == "tie"
    assert tally([Pair("e1", 1, None, None)]).position_bias_rate is None


def test_render_comparison_in_the_three_formats():
    comparison = Comparison(
        "deb-a", "deb-b", [Pair("e1", 1, "A", "A", ("r1", "r2")), Pair("e2", 1, "A", "B")]
    )
    rendered = render_comparison(comparison)
    assert rendered.document["comparison"]["winner"] == "A"
    assert rendered.document["comparison"]["position_bias_rate"] == 0.5
    assert rendered.document["verdicts"][0]["reasoning"] == {"a_shown_first": "r1", "b_shown_first": "r2"}
    assert list(rendered.csv_columns) == list(COLUMNS)
    assert rendered.csv_values["Position bias rate"] == "0.50"
    assert rendered.csv_values["Verdict"] == "A"
    assert "| deb-a | deb-b | 1 | 0 | 1 | 1 | 2 | 50% | A |" in rendered.markdown
    assert "| e2 | 1 | A | B | tie (contradiction) |" in rendered.markdown
