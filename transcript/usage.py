"""Token (and, where prices are known, cost) totals per agent, phase and round."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

# Annotations only: the state module imports LangGraph, which `dialectic report` never needs.
if TYPE_CHECKING:
    from dialectic.debate.state import CallUsage


def _bucket() -> dict[str, Any]:
    return {
        "calls": 0,
        "cachedCalls": 0,
        "inputTokens": 0,
        "cachedInputTokens": 0,  # of inputTokens, served by the provider's prompt cache
        "outputTokens": 0,
        "totalTokens": 0,
        "costUsd": 0.0,
    }


def _add(bucket: dict[str, Any], call: CallUsage, cost: float | None) -> None:
    bucket["calls"] += 1
    bucket["cachedCalls"] += int(call.cached)
    bucket["inputTokens"] += call.input_tokens
    bucket["cachedInputTokens"] += call.cached_input_tokens
    if call.cache_write_input_tokens:  # only providers with explicit cache breakpoints write
        bucket["cacheWriteInputTokens"] = (
            bucket.get("cacheWriteInputTokens", 0) + call.cache_write_input_tokens
        )
    bucket["outputTokens"] += call.output_tokens
    bucket["totalTokens"] += call.input_tokens + call.output_tokens
    if cost is None or bucket["costUsd"] is None:
        bucket["costUsd"] = None  # unknown stays unknown: never shown as 0
    else:
        bucket["costUsd"] = round(bucket["costUsd"] + cost, 12)  # no float noise, no lost fractions


def summarize_usage(calls: Iterable[CallUsage]) -> dict[str, Any]:
    totals = _bucket()
    by_agent: dict[str, dict[str, Any]] = {}
    by_phase: dict[str, dict[str, Any]] = {}
    by_round: dict[str, dict[str, Any]] = {}
    for call in calls:
        cost = 0.0 if call.cached else call.cost_usd
        for bucket in (
            totals,
            by_agent.setdefault(call.agent_id, _bucket()),
            by_phase.setdefault(call.phase, _bucket()),
            by_round.setdefault(str(call.round), _bucket()),
        ):
            _add(bucket, call, cost)
    return {"total": totals, "byAgent": by_agent, "byPhase": by_phase, "byRound": by_round}


def replayed_note(bucket: Mapping[str, Any], number: Callable[[int], str] = "{:,}".format) -> str:
    """`` (N replayed from --cache)`` after a bucket's calls when the replay cache answered some
    (they cost nothing), else nothing. Anything but a count is none."""
    replayed = bucket.get("cachedCalls")
    return (
        f" ({number(replayed)} replayed from --cache)" if isinstance(replayed, int) and replayed > 0 else ""
    )


def cached_input_note(bucket: Mapping[str, Any], number: Callable[[int], str] = "{:,}".format) -> str:
    """`` (N cached)`` after a bucket's input tokens when a provider's prompt cache served part
    of them (``, M written to cache`` when part was written to it), else nothing. The bucket may
    come from a debate file: anything but a count is none."""
    parts = []
    cached = bucket.get("cachedInputTokens")
    if isinstance(cached, int) and cached > 0:
        parts.append(f"{number(cached)} cached")
    written = bucket.get("cacheWriteInputTokens")
    if isinstance(written, int) and written > 0:
        parts.append(f"{number(written)} written to cache")
    return f" ({', '.join(parts)})" if parts else ""
