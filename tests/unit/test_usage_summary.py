"""Token and cost totals per agent, phase and round; unknown cost stays unknown."""

from __future__ import annotations

from typing import Any

import pytest

from dialectic.debate.state import CallUsage
from dialectic.transcript.usage import summarize_usage


def usage(agent: str, phase: str, round_: int, tin: int, tout: int, **extra: Any) -> CallUsage:
    return CallUsage(
        agent_id=agent,
        phase=phase,
        round=round_,
        model=extra.pop("model", "gpt-4o-mini"),
        provider="openai",
        input_tokens=tin,
        output_tokens=tout,
        latency_ms=5,
        **extra,
    )


CALLS = [
    usage("a1", "propose", 1, 100, 50),
    usage("a2", "propose", 1, 200, 80),
    usage("a1", "critique", 1, 300, 40),
    usage("a2", "critique", 2, 10, 5),
    usage("judge", "synthesize", 2, 1000, 400),
]


def flat_price(call: CallUsage) -> float:
    return call.input_tokens * 0.001 + call.output_tokens * 0.002


def priced(calls: list[CallUsage], price) -> list[CallUsage]:
    """Each call with the cost the provider layer would have recorded for it."""
    return [call.model_copy(update={"cost_usd": price(call)}) for call in calls]


def summarize(calls: list[CallUsage], price=None):
    return summarize_usage(priced(calls, price) if price else calls)


def test_totals_per_agent_phase_and_round() -> None:
    summary = summarize(CALLS, flat_price)
    total = summary["total"]
    assert total["calls"] == 5
    assert total["inputTokens"] == 1610
    assert total["outputTokens"] == 575
    assert total["totalTokens"] == 2185
    assert total["cachedCalls"] == 0

    assert set(summary["byAgent"]) == {"a1", "a2", "judge"}
    assert summary["byAgent"]["a1"]["calls"] == 2
    assert summary["byAgent"]["a1"]["inputTokens"] == 400
    assert summary["byAgent"]["a1"]["outputTokens"] == 90
    assert summary["byAgent"]["judge"]["totalTokens"] == 1400

    assert set(summary["byPhase"]) == {"propose", "critique", "synthesize"}
    assert summary["byPhase"]["propose"]["inputTokens"] == 300
    assert summary["byPhase"]["critique"]["outputTokens"] == 45

    assert set(summary["byRound"]) == {"1", "2"}  # JSON object keys
    assert summary["byRound"]["1"]["calls"] == 3
    assert summary["byRound"]["2"]["inputTokens"] == 1010


def test_buckets_add_up_to_total() -> None:
    summary = summarize(CALLS, flat_price)
    for grouping in ("byAgent", "byPhase", "byRound"):
        for key in ("calls", "inputTokens", "outputTokens", "totalTokens"):
            assert sum(bucket[key] for bucket in summary[grouping].values()) == summary["total"][key]
        assert sum(b["costUsd"] for b in summary[grouping].values()) == pytest.approx(
            summary["total"]["costUsd"]
        )


def test_cost_with_known_prices() -> None:
    summary = summarize(CALLS, flat_price)
    assert summary["total"]["costUsd"] == pytest.approx(1.61 + 1.15)
    assert summary["byAgent"]["a1"]["costUsd"] == pytest.approx(0.4 + 0.18)


def test_one_unknown_price_makes_cost_unknown() -> None:
    def price(call: CallUsage) -> float | None:
        return None if call.model == "mystery" else 0.5

    calls = [*CALLS, usage("a2", "refine", 1, 7, 7, model="mystery")]
    summary = summarize(calls, price)
    assert summary["total"]["costUsd"] is None
    assert summary["byAgent"]["a2"]["costUsd"] is None
    assert summary["byPhase"]["refine"]["costUsd"] is None
    assert summary["byRound"]["1"]["costUsd"] is None
    # buckets the unknown call did not touch keep their known cost
    assert summary["byAgent"]["a1"]["costUsd"] == pytest.approx(1.0)
    assert summary["byPhase"]["propose"]["costUsd"] == pytest.approx(1.0)
    assert summary["byRound"]["2"]["costUsd"] == pytest.approx(1.0)
    # tokens are still counted
    assert summary["total"]["inputTokens"] == 1617


def test_unknown_then_known_stays_unknown() -> None:
    prices = iter([None, 1.0, 2.0])
    summary = summarize(CALLS[:3], lambda call: next(prices))
    assert summary["total"]["costUsd"] is None
    assert summary["byAgent"]["a2"]["costUsd"] == pytest.approx(1.0)


def test_no_price_function_means_unknown_cost() -> None:
    summary = summarize(CALLS)
    assert summary["total"]["costUsd"] is None
    assert all(b["costUsd"] is None for b in summary["byAgent"].values())


def test_cached_calls_cost_nothing() -> None:
    def price(call: CallUsage) -> float | None:
        return 1.0

    calls = [usage("a1", "propose", 1, 100, 50, cached=True), usage("a1", "critique", 1, 10, 10)]
    summary = summarize(calls, price)
    assert summary["total"]["costUsd"] == pytest.approx(1.0)
    assert summary["total"]["cachedCalls"] == 1
    assert summary["total"]["calls"] == 2
    assert summary["byPhase"]["propose"]["costUsd"] == 0.0
    assert summary["byPhase"]["propose"]["cachedCalls"] == 1


def test_cached_calls_cost_nothing_even_without_prices() -> None:
    summary = summarize_usage([usage("a1", "propose", 1, 100, 50, cached=True)])
    assert summary["total"]["costUsd"] == 0.0
    assert summary["total"]["inputTokens"] == 100


def test_empty_usage() -> None:
    summary = summarize([], flat_price)
    assert summary["total"] == {
        "calls": 0,
        "cachedCalls": 0,
        "inputTokens": 0,
        "cachedInputTokens": 0,
        "outputTokens": 0,
        "totalTokens": 0,
        "costUsd": 0.0,
    }
    assert summary["byAgent"] == summary["byPhase"] == summary["byRound"] == {}


def test_costs_have_no_float_noise() -> None:
    summary = summarize(CALLS[:3], lambda call: 0.1)
    assert summary["total"]["costUsd"] == 0.3


def test_many_tiny_costs_are_not_lost() -> None:
    calls = [usage("a1", "propose", 1, 1, 1) for _ in range(10)]
    summary = summarize(calls, lambda call: 0.0000004)
    assert summary["total"]["costUsd"] == pytest.approx(0.000004)
