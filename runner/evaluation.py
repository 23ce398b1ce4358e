"""Run an evaluation: load the evaluators and the debate(s), render the prompts, run the
evaluation graph, and turn its outcomes into a report. The library entry points the CLI calls.

Progress and warnings go to ``on_event`` as they happen (``{"event": "warning", "message": …}``
and the graph's call events), so a caller shows them even when the run then fails.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from dialectic import prompts
from dialectic.errors import InputError
from dialectic.evaluation.compare import Choice, Comparison, Pair, choice
from dialectic.evaluation.evaluators import Evaluator, load_evaluators
from dialectic.evaluation.inputs import DebateInputs, load_debate
from dialectic.evaluation.output import ScoreTable
from dialectic.evaluation.parsing import JsonObject, read_verdict
from dialectic.evaluation.scores import aggregate
from dialectic.evaluation.spend import EvaluationFailed, calls_cost
from dialectic.evaluation.state import (
    EvaluationContext,
    EvaluationOutcome,
    EvaluationTask,
    Order,
    Prompt,
)
from dialectic.prompts.requirements import requirements_list
from dialectic.providers.concurrency import ConcurrencyGate

EventHandler = Callable[[dict[str, Any]], None]
MAX_REPEATS = 20


def score_debate(
    config: Path,
    debate: Path,
    *,
    repeats: int = 1,
    offline: bool = False,
    strict: bool = False,
    max_concurrency: int | None = None,
    on_event: EventHandler | None = None,
    allow_insecure_http: bool = False,
    trust_config: bool = False,
) -> ScoreTable:
    """Score one finished debate with every enabled evaluator, ``repeats`` times each."""
    notify = on_event or (lambda event: None)
    _check_repeats(repeats)
    evaluators = _load(config, offline, notify, trust_config=trust_config, strict=strict)
    inputs = load_debate(debate)
    _check_keys(evaluators, allow_insecure_http)
    rendered: dict[tuple[str, Order | None], Prompt] = {
        (e.member.id, None): score_prompt(e, inputs) for e in evaluators
    }
    tasks = [
        EvaluationTask(evaluator_id=e.member.id, run=run) for e in evaluators for run in range(1, repeats + 1)
    ]
    outcomes = _run(evaluators, rendered, tasks, max_concurrency, notify)
    replies: dict[str, list[JsonObject | None]] = {e.member.id: [None] * repeats for e in evaluators}
    failures: list[str] = []
    for outcome in outcomes:
        if outcome.error is None:
            replies[outcome.evaluator_id][outcome.run - 1] = outcome.reply
        else:
            failures.append(f"[{_who(outcome, repeats)}] skipped: {outcome.error}")
    if len(failures) == len(tasks):
        raise EvaluationFailed(
            f"all {len(tasks)} evaluator call(s) failed{_first(failures)}", cost_usd=calls_cost(outcomes)
        )
    for failure in failures:
        _warn(notify, failure)
    stats, warnings = aggregate(replies)
    for warning in warnings:
        _warn(notify, warning)
    return ScoreTable(inputs.name, repeats, len(evaluators), stats, replies, calls_cost(outcomes))


def compare_debates(
    config: Path,
    debate_a: Path,
    debate_b: Path,
    *,
    repeats: int = 1,
    offline: bool = False,
    strict: bool = False,
    max_concurrency: int | None = None,
    on_event: EventHandler | None = None,
    allow_insecure_http: bool = False,
    trust_config: bool = False,
) -> Comparison:
    """Ask every evaluator which final solution is better, in both orders, ``repeats`` times."""
    notify = on_event or (lambda event: None)
    _check_repeats(repeats)
    evaluators = _load(config, offline, notify, trust_config=trust_config, strict=strict)
    a, b = load_debate(debate_a), load_debate(debate_b)
    if a.problem != b.problem:
        _warn(notify, f"{a.name} and {b.name} answer different problems; the evaluators are shown {a.name}'s")
    _check_keys(evaluators, allow_insecure_http)
    orders: tuple[Order, Order] = ("AB", "BA")
    rendered: dict[tuple[str, Order | None], Prompt] = {
        (e.member.id, order): compare_prompt(a, b, order) for e in evaluators for order in orders
    }
    tasks = [
        EvaluationTask(evaluator_id=e.member.id, run=run, order=order)
        for e in evaluators
        for run in range(1, repeats + 1)
        for order in orders
    ]
    outcomes = _run(evaluators, rendered, tasks, max_concurrency, notify)
    pairs, failures = _pairs(outcomes, repeats)
    if not any(pair.complete for pair in pairs):
        raise EvaluationFailed(
            f"no evaluator gave a verdict in both orders ({len(tasks)} calls){_first(failures)}",
            cost_usd=calls_cost(outcomes),
        )
    for failure in failures:
        _warn(notify, failure)
    return Comparison(a.name, b.name, pairs, calls_cost(outcomes))


def score_prompt(evaluator: Evaluator, inputs: DebateInputs) -> Prompt:
    values = {
        "problem": prompts.embed(inputs.problem),
        "clarifications": inputs.clarifications,
        "final_solution": prompts.embed(inputs.final_solution),
        "requirements_info": inputs.requirements_info,
    }
    return Prompt(
        prompts.render(evaluator.system_template, values), prompts.render(evaluator.user_template, values)
    )


def compare_prompt(a: DebateInputs, b: DebateInputs, order: Order) -> Prompt:
    first, second = (a, b) if order == "AB" else (b, a)
    values = {
        "problem": prompts.embed(a.problem),
        "clarifications": a.clarifications,
        "requirements": requirements_list(a.problem),
        "solution_1": prompts.embed(first.final_solution),
        "solution_2": prompts.embed(second.final_solution),
    }
    return Prompt(
        prompts.render(prompts.eval_template("compare_system"), values),
        prompts.render(prompts.eval_template("compare_user"), values),
    )


def _pairs(outcomes: Sequence[EvaluationOutcome], repeats: int) -> tuple[list[Pair], list[str]]:
    """The verdict pairs, and a line for every call that gave no verdict."""
    found: dict[tuple[str, int], dict[Order, tuple[Choice | None, str]]] = {}
    failures: list[str] = []
    for outcome in outcomes:
        assert outcome.order is not None
        verdict = read_verdict(outcome.reply) if outcome.reply is not None and outcome.error is None else None
        picked = None if verdict is None else choice(verdict, outcome.order)
        if picked is None:
            label = "A shown first" if outcome.order == "AB" else "B shown first"
            failures.append(f"[{_who(outcome, repeats)}, {label}] skipped: {outcome.error}")
        reason = outcome.reply.get("reasoning") if outcome.reply else None
        found.setdefault((outcome.evaluator_id, outcome.run), {})[outcome.order] = (
            picked,
            reason if isinstance(reason, str) else "",
        )
    pairs = []
    for (evaluator_id, run), by_order in found.items():
        a_first, a_reason = by_order.get("AB", (None, ""))
        b_first, b_reason = by_order.get("BA", (None, ""))
        pairs.append(Pair(evaluator_id, run, a_first, b_first, (a_reason, b_reason)))
    return pairs, failures


def _load(
    config: Path, offline: bool, notify: EventHandler, *, trust_config: bool, strict: bool
) -> list[Evaluator]:
    evaluators, warnings = load_evaluators(config, offline=offline, trust_config=trust_config, strict=strict)
    for warning in warnings:
        _warn(notify, warning)
    return evaluators


def parse_repeats(value: str | None) -> int:
    """``--repeats`` as typed: a whole number from 1 to MAX_REPEATS (default 1)."""
    if value is None:
        return 1
    try:
        repeats = int(value.strip())
    except ValueError:
        raise InputError(
            f"--repeats must be a whole number from 1 to {MAX_REPEATS} (got {value!r})"
        ) from None
    _check_repeats(repeats)
    return repeats


def _check_repeats(repeats: int) -> None:
    if not 1 <= repeats <= MAX_REPEATS:
        raise InputError(f"--repeats must be a whole number from 1 to {MAX_REPEATS} (got {repeats})")


def _check_keys(evaluators: Sequence[Evaluator], allow_insecure_http: bool) -> None:
    from dialectic.providers.factory import check_keys

    check_keys([e.member for e in evaluators], os.environ, allow_insecure_http=allow_insecure_http)


def _run(
    evaluators: Sequence[Evaluator],
    rendered: dict[tuple[str, Order | None], Prompt],
    tasks: list[EvaluationTask],
    max_concurrency: int | None,
    notify: EventHandler,
) -> list[EvaluationOutcome]:
    """Every task's call at once, under ``max_concurrency`` if set and, per endpoint, the limit
    its 429s teach (as a debate's calls: DebateContext.gate)."""
    from dialectic.graphs.evaluation import build_graph
    from dialectic.runner.run import graph_concurrency

    context = EvaluationContext(
        members={e.member.id: e.member for e in evaluators},
        prompts=rendered,
        gate=ConcurrencyGate(max_concurrency),
    )
    outcomes: list[EvaluationOutcome] = []
    for part in (
        build_graph()
        .compile()
        .stream(
            {"tasks": tasks},
            {"max_concurrency": graph_concurrency(max_concurrency or len(tasks))},
            context=context,
            stream_mode=["values", "custom"],
            version="v2",
        )
    ):
        if part["type"] == "custom":
            notify(part["data"])
        elif part["type"] == "values":
            outcomes = list(part["data"].get("outcomes", []))
    return outcomes


def _first(failures: Sequence[str]) -> str:
    """The first failure for a one-line error (with -v every call's failure is shown above it)."""
    if not failures:
        return ""
    more = f" (and {len(failures) - 1} more: -v shows each)" if len(failures) > 1 else ""
    return "; the first: " + failures[0].replace("] skipped: ", "] ", 1) + more


def _warn(notify: EventHandler, message: str) -> None:
    notify({"event": "warning", "message": message})


def _who(outcome: EvaluationOutcome, repeats: int) -> str:
    return f"{outcome.evaluator_id} run {outcome.run}" if repeats > 1 else outcome.evaluator_id


def describe_event(event: dict[str, Any], *, verbose: bool) -> str | None:
    """The plain stderr line for an event: warnings always, calls only with -v."""
    kind = event.get("event")
    if kind == "warning":
        return f"warning: {event['message']}"
    if not verbose or kind not in ("call_finished", "call_failed"):
        return None
    who = f"{event['agent']} run {event['run']}"
    if event.get("order"):
        who += ", A shown first" if event["order"] == "AB" else ", B shown first"
    if kind == "call_failed" and "latency_ms" not in event:
        return f"{who}: failed: {event.get('error')}"
    outcome = "failed: " + str(event["error"]) if event.get("error") else "answered"
    return f"{who}: {outcome} ({event.get('latency_ms', 0):,} ms, {event.get('tokens', 0):,} tokens)"
