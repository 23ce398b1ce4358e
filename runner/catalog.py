"""What the store knows about its debates: the rows of ``dialectic list`` and the detail of
``dialectic show``, read from checkpoints (no second registry that could disagree with them).

A debate is read through the checkpointer with a reader: the built-in debate graph (every
built-in node, no extensions), compiled once per store. It reconstructs the state, where the
debate stands and what it waits for, without importing the extensions a debate ran with: a
debate whose extension no longer imports is listed and shown like any other.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, cast

from langgraph.graph.state import CompiledStateGraph
from langgraph.types import StateSnapshot

from dialectic.debate.failures import unrecovered
from dialectic.debate.pauses import ClarificationPause, by_urgency, read_pause, read_pauses
from dialectic.debate.state import DebateState
from dialectic.debate.status import debate_status
from dialectic.runner import store as stores
from dialectic.runner.run import read_stored, thread_config
from dialectic.transcript.files import reconcile_status
from dialectic.transcript.usage import summarize_usage


def reader(store: stores.Store) -> CompiledStateGraph[Any, Any, Any, Any]:
    """The built-in debate graph over this store, to read debates with (never to run them)."""
    from dialectic.graphs.debate import GraphOptions, build_graph

    return build_graph(GraphOptions(clarify=True, steer=True)).compile(checkpointer=store.saver)


def status_of(snapshot: StateSnapshot, running: bool) -> str:
    return debate_status(
        snapshot.values or {},
        read_pauses(snapshot.interrupts),
        finished=not snapshot.next,
        errored=any(task.error for task in snapshot.tasks),
        running=running,
    )


@dataclass
class DebateRow:
    id: str
    status: str
    rounds_done: int
    max_rounds: int
    created_at: str
    problem: str
    parent: str | None = None


def _status(snapshot: StateSnapshot, debate_id: str, *, running: bool) -> str:
    """The debate's status, also set in its JSON if that still says "running" after a kill."""
    status = status_of(snapshot, running)
    reconcile_status(stores.debate_json_path(debate_id), status)
    return status


def rounds_done(values: dict[str, Any]) -> int:
    """Rounds whose refinements are in (all of them once the judge has ruled)."""
    current = int(values.get("round") or 0)
    refined = any(c.round == current and c.type == "refinement" for c in values.get("contributions", []))
    return current if refined or values.get("final_solution") is not None else max(0, current - 1)


def list_debates(db: str | None) -> list[DebateRow]:
    rows = []
    url = stores.db_url(db)
    stores.require_store(url)
    with stores.open_store(url, read_only=True) as store:
        graph = reader(store)
        for debate_id in store.thread_ids():
            stored = read_stored(store, debate_id)
            if stored is None:  # a foreign thread in a shared store: not ours to list
                continue
            snapshot = graph.get_state(thread_config(debate_id))
            values = dict(snapshot.values)
            problem = str(values.get("problem", "")).strip().splitlines()
            rows.append(
                DebateRow(
                    id=debate_id,
                    status=_status(snapshot, debate_id, running=store.holder(debate_id) is not None),
                    rounds_done=rounds_done(values),
                    max_rounds=stored.rounds,
                    created_at=stored.created_at,
                    problem=problem[0][:100] if problem else "",
                    parent=stored.parent_id,
                )
            )
    return sorted(rows, key=lambda row: row.created_at, reverse=True)


@dataclass
class DebateDetail:
    id: str
    status: str
    round: int
    rounds_done: int  # as ``dialectic list`` counts them
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
    with stores.open_store(stores.db_url(db), read_only=True) as store:
        stores.validate_debate_id(debate_id)
        stored = read_stored(store, debate_id, required=True)
        assert stored is not None
        graph = reader(store)
        config = thread_config(debate_id)
        snapshot = graph.get_state(config)
        values = dict(snapshot.values)
        holder = store.holder(debate_id)
        done = [who for task in snapshot.tasks if task.result is not None and (who := _who(task.result))]
        pending_calls = sum(1 for task in snapshot.tasks if task.result is None and not task.interrupts)
        waiting = [(item.id, found) for item in snapshot.interrupts if (found := read_pause(item.value))]
        pauses = by_urgency([found for _, found in waiting])
        detail = DebateDetail(
            id=debate_id,
            status=_status(snapshot, debate_id, running=holder is not None),
            round=int(values.get("round") or 0),
            rounds_done=rounds_done(values),
            max_rounds=stored.rounds,
            next=list(snapshot.next),
            done=done,
            pending_calls=pending_calls,
            pending=[{"id": key, **found.model_dump(mode="json")} for key, found in waiting],
            usage=summarize_usage(values.get("usage", []))["total"],
            created_at=stored.created_at,
            parent=stored.parent_id,
            running_by=holder.describe() if holder else None,
            failures=[
                {
                    "agent": f.agent_id,
                    "phase": f.phase,
                    "round": f.round,
                    "error": f.error,
                    "kind": _kind(f.transient),
                }
                for f in unrecovered(cast(DebateState, values))
            ],
            final_confidence=values["final_solution"].confidence if values.get("final_solution") else None,
        )
        if pauses and detail.status in ("waiting_for_input", "paused", "failed"):
            detail.how_to_continue = pauses[0].how_to_continue(debate_id)
        detail.questions = [
            q.model_dump() for p in pauses if isinstance(p, ClarificationPause) for q in p.questions
        ]
        if history:
            detail.checkpoints = checkpoint_history(graph, config)
        return detail


def _kind(transient: bool | None) -> str:
    """How a failure was classified: transient (retrying later may help) or permanent."""
    return "unknown" if transient is None else "transient" if transient else "permanent"


def checkpoint_history(graph: CompiledStateGraph[Any, Any, Any, Any], config: Any) -> list[dict[str, Any]]:
    """Oldest first: each checkpoint's id, step, the nodes whose writes made it, and the round."""
    snapshots = list(graph.get_state_history(config))[::-1]
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
