"""Run a debate: open the store, stream the graph, keep the debate JSON current, and say how it
ended. This is the library entry point the CLI (and notebooks) call."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from langchain_core.runnables import RunnableConfig
from langgraph.types import StreamMode

from dialectic.configs.settings import RunSettings
from dialectic.errors import DialecticError, ProviderError
from dialectic.graphs import store
from dialectic.graphs.context import DebateContext
from dialectic.graphs.routing import unrecovered_failures
from dialectic.graphs.state import DebateState
from dialectic.transcript.export import to_record
from dialectic.transcript.files import write_record
from dialectic.transcript.schema import DebateRecord

EventHandler = Callable[[dict[str, Any]], None]
SETTINGS_KEY = "dialectic_settings"
CREATED_KEY = "dialectic_created_at"
PARENT_KEY = "dialectic_parent"

EXIT_OK, EXIT_BUG, EXIT_PROVIDER, EXIT_PAUSED, EXIT_INTERRUPTED = 0, 1, 3, 5, 130


@dataclass
class DebateResult:
    debate_id: str
    status: str
    exit_code: int
    record: DebateRecord
    json_path: Path
    message: str | None = None
    pending: list[dict[str, Any]] = field(default_factory=list)

    @property
    def solution(self) -> str | None:
        return self.record.finalSolution.description if self.record.finalSolution else None


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class DebateRun:
    """One process's run of one debate thread."""

    def __init__(
        self,
        saver: Any,
        debate_id: str,
        settings: RunSettings,
        *,
        created_at: str,
        parent_id: str | None = None,
        on_event: EventHandler | None = None,
    ) -> None:
        from dialectic.graphs.debate import build_graph

        self.debate_id = debate_id
        self.settings = settings
        self.created_at = created_at
        self.parent_id = parent_id
        self.on_event = on_event or (lambda event: None)
        self.graph = build_graph().compile(checkpointer=saver)
        self.context = DebateContext(settings)
        metadata = {SETTINGS_KEY: settings.to_json(), CREATED_KEY: created_at}
        if parent_id:
            metadata[PARENT_KEY] = parent_id
        rounds = settings.config.debate.rounds
        self.config: RunnableConfig = {
            "configurable": {"thread_id": debate_id},
            "metadata": metadata,
            "max_concurrency": settings.config.debate.maxConcurrency,
            "recursion_limit": 100 + 12 * rounds,
        }
        self.json_path = store.debate_json_path(debate_id)

    def state(self) -> dict[str, Any]:
        return dict(self.graph.get_state(self.config).values)

    def save(self, state: dict[str, Any], status: str) -> DebateRecord:
        record = to_record(
            self.debate_id,
            state,
            self.settings,
            status=status,
            created_at=self.created_at,
            updated_at=utc_now(),
            parent_id=self.parent_id,
        )
        write_record(self.json_path, record)
        return record

    def execute(self, graph_input: Any) -> DebateResult:
        state: dict[str, Any] = {}
        modes: list[StreamMode] = ["values", "custom"]
        try:
            for part in self.graph.stream(
                graph_input,
                self.config,
                context=self.context,
                stream_mode=modes,
                version="v2",
                durability="sync",
            ):
                if part["type"] == "values":
                    state = dict(part["data"])
                    self.save(state, "running")
                elif part["type"] == "custom":
                    self.on_event(part["data"])
        except KeyboardInterrupt:
            record = self.save(self.state(), "interrupted")
            return DebateResult(
                self.debate_id, "interrupted", EXIT_INTERRUPTED, record, self.json_path, "interrupted"
            )
        except ProviderError as exc:
            record = self.save(self.state(), "failed")
            return DebateResult(self.debate_id, "failed", EXIT_PROVIDER, record, self.json_path, str(exc))
        except DialecticError:
            self.save(self.state(), "failed")
            raise
        except Exception:
            self.save(self.state(), "failed")
            raise
        return self.outcome()

    def outcome(self) -> DebateResult:
        snapshot = self.graph.get_state(self.config)
        state = dict(snapshot.values)
        pending = [dict(i.value) for i in snapshot.interrupts if isinstance(i.value, dict)]
        if pending:
            provider = [p for p in pending if p.get("kind") == "provider_failure"]
            if provider:
                record = self.save(state, "failed")
                first = provider[0]
                message = (
                    f"too few agents left in {first['phase']} of round {first['round']} "
                    f"({len(first['taking_part'])} of the {first['needed']} needed): {first['errors'][0] if first['errors'] else 'provider failure'}"
                )
                return DebateResult(
                    self.debate_id, "failed", EXIT_PROVIDER, record, self.json_path, message, pending
                )
            record = self.save(state, "waiting_for_input")
            return DebateResult(
                self.debate_id,
                "waiting_for_input",
                EXIT_PAUSED,
                record,
                self.json_path,
                "waiting for input",
                pending,
            )
        if state.get("final_solution") is None:
            record = self.save(state, "failed")
            return DebateResult(
                self.debate_id,
                "failed",
                EXIT_BUG,
                record,
                self.json_path,
                "the debate stopped without a final solution",
            )
        status = "degraded" if unrecovered_failures(cast(DebateState, state)) else "completed"
        record = self.save(state, status)
        return DebateResult(self.debate_id, status, EXIT_OK, record, self.json_path)


def start_debate(
    problem: str,
    settings: RunSettings,
    *,
    debate_id: str | None = None,
    db: str | None = None,
    on_event: EventHandler | None = None,
) -> DebateResult:
    """Run a new debate to its end (or its first pause or failure)."""
    debate_id = store.validate_debate_id(debate_id) if debate_id else store.new_debate_id()
    with store.open_checkpointer(store.db_url(db)) as saver:
        if saver.get_tuple({"configurable": {"thread_id": debate_id}}) is not None:
            from dialectic.errors import InputError

            raise InputError(
                f"a debate with id {debate_id!r} already exists; resume it with: dialectic resume {debate_id}"
            )
        run = DebateRun(saver, debate_id, settings, created_at=utc_now(), on_event=on_event)
        return run.execute({"problem": problem})


def settings_of(metadata: dict[str, Any]) -> RunSettings:
    return RunSettings.from_json(metadata[SETTINGS_KEY])
