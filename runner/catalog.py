"""What the store knows about its debates: the rows of ``dialectic list`` and the detail of
``dialectic show``, read from checkpoints (no second registry that could disagree with them)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, cast

from dialectic.graphs import store as stores
from dialectic.graphs.routing import unrecovered_failures
from dialectic.graphs.state import CLARIFICATION, DebateState
from dialectic.runner.run import how_to_continue, open_existing
from dialectic.transcript.usage import summarize_usage

_PAUSE_STATUS = {"provider_failure": "failed", "budget": "paused"}


def status_of(snapshot: Any, running: bool) -> str:
    """running, completed, degraded, failed, waiting_for_input, paused or interrupted."""
    if running:
        return "running"
    values = snapshot.values or {}
    if values.get("final_solution") is not None and not snapshot.next:
        return "degraded" if unrecovered_failures(cast(DebateState, values)) else "completed"
    kinds = [i.value.get("kind") for i in snapshot.interrupts if isinstance(i.value, dict)]
    for kind in kinds:
        if kind in _PAUSE_STATUS:
            return _PAUSE_STATUS[kind]
    if kinds:
        return "waiting_for_input"
    if any(task.error for task in snapshot.tasks):
        return "failed"
    return "interrupted"  # stopped by a kill, a crash or Ctrl-C, with work left to do


@dataclass
class DebateRow:
    id: str
    status: str
    rounds_done: int
    max_rounds: int
    created_at: str
    problem: str
    parent: str | None = None


def _rounds_done(values: dict[str, Any]) -> int:
    current = int(values.get("round") or 0)
    refined = any(c.round == current and c.type == "refinement" for c in values.get("contributions", []))
    return current if refined or values.get("final_solution") is not None else max(0, current - 1)


def list_debates(db: str | None) -> list[DebateRow]:
    rows = []
    with stores.open_store(stores.db_url(db)) as store:
        for debate_id in store.thread_ids():
            try:
                run = open_existing(store, debate_id)
            except Exception:  # a foreign thread in a shared store: not ours to list
                continue
            snapshot = run.graph.get_state(run.config)
            values = dict(snapshot.values)
            problem = str(values.get("problem", "")).strip().splitlines()
            rows.append(
                DebateRow(
                    id=debate_id,
                    status=status_of(snapshot, store.holder(debate_id) is not None),
                    rounds_done=_rounds_done(values),
                    max_rounds=run.settings.config.debate.rounds,
                    created_at=run.created_at,
                    problem=problem[0][:100] if problem else "",
                    parent=run.parent_id,
                )
            )
    return sorted(rows, key=lambda row: row.created_at, reverse=True)


@dataclass
class DebateDetail:
    id: str
    status: str
    round: int
    max_rounds: int
    next: list[str]
    done: list[str]
    pending_calls: int
    pending: list[dict[str, Any]]
    usage: dict[str, Any]
    created_at: str
    parent: str | None
    running_by: str | None
    failures: list[dict[str, Any]]
    final_confidence: float | None
    checkpoints: list[dict[str, Any]] = field(default_factory=list)
    questions: list[dict[str, Any]] = field(default_factory=list)  # clarifying questions awaiting answers
    how_to_continue: str | None = None  # the command that gives a waiting debate its input

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _who(result: Any) -> str | None:
    """The agent a finished task wrote for (from its pending writes)."""
    if not isinstance(result, dict):
        return None
    for key in ("contributions", "summaries", "failures"):
        for item in result.get(key) or []:
            agent = getattr(item, "agent_id", None)
            target = getattr(item, "target_agent_id", None)
            if agent:
                return f"{agent}→{target}" if target else str(agent)
    return None


def show_debate(db: str | None, debate_id: str, *, history: bool = False) -> DebateDetail:
    with stores.open_store(stores.db_url(db)) as store:
        run = open_existing(store, debate_id)
        snapshot = run.graph.get_state(run.config)
        values = dict(snapshot.values)
        holder = store.holder(debate_id)
        done = [who for task in snapshot.tasks if task.result is not None and (who := _who(task.result))]
        pending_calls = sum(1 for task in snapshot.tasks if task.result is None and not task.interrupts)
        detail = DebateDetail(
            id=debate_id,
            status=status_of(snapshot, holder is not None),
            round=int(values.get("round") or 0),
            max_rounds=run.settings.config.debate.rounds,
            next=list(snapshot.next),
            done=done,
            pending_calls=pending_calls,
            pending=[{"id": i.id, **i.value} for i in snapshot.interrupts if isinstance(i.value, dict)],
            usage=summarize_usage(values.get("usage", []))["total"],
            created_at=run.created_at,
            parent=run.parent_id,
            running_by=holder.describe() if holder else None,
            failures=[
                {"agent": f.agent_id, "phase": f.phase, "round": f.round, "error": f.error}
                for f in unrecovered_failures(cast(DebateState, values))
            ],
            final_confidence=values["final_solution"].confidence if values.get("final_solution") else None,
        )
        waiting = [p for p in detail.pending if p.get("kind")]
        if waiting and detail.status == "waiting_for_input":
            detail.how_to_continue = how_to_continue(str(waiting[0]["kind"]), debate_id)
        detail.questions = [q for p in waiting if p["kind"] == CLARIFICATION for q in p.get("questions", [])]
        if history:
            detail.checkpoints = checkpoint_history(run)
        return detail


def checkpoint_history(run: Any) -> list[dict[str, Any]]:
    """Oldest first: each checkpoint's id, step, the nodes whose writes made it, and the round."""
    snapshots = list(run.graph.get_state_history(run.config))[::-1]
    rows = []
    previous_next: tuple[str, ...] = ()
    for snapshot in snapshots:
        metadata = snapshot.metadata or {}
        rows.append(
            {
                "checkpoint": snapshot.config["configurable"]["checkpoint_id"],
                "step": metadata.get("step"),
                "node": ",".join(dict.fromkeys(previous_next))
                or ("input" if metadata.get("source") == "input" else ""),
                "round": int((snapshot.values or {}).get("round") or 0),
                "next": ",".join(dict.fromkeys(snapshot.next)),
            }
        )
        previous_next = tuple(snapshot.next)
    return rows
