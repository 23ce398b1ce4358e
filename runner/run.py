"""Run a debate: open the store, take the debate's writer lock, stream the graph, keep the
debate JSON current, and say how it ended. ``start_debate``, ``resume_debate`` and
``fork_debate`` are the library entry points the CLI (and notebooks) call."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import CheckpointMetadata
from langgraph.errors import GraphDrained
from langgraph.runtime import RunControl
from langgraph.types import Command, StreamMode

from dialectic.configs.settings import RunSettings
from dialectic.debate import course
from dialectic.debate.context import DebateContext
from dialectic.debate.pauses import (
    BudgetPause,
    ClarificationPause,
    Pause,
    by_urgency,
    read_pause,
    read_pauses,
)
from dialectic.debate.phases import BESIDE, PHASES, ROUND, Phase, expected_calls
from dialectic.debate.state import DebateState
from dialectic.debate.status import debate_status
from dialectic.errors import ExitCode, InputError, ProviderError
from dialectic.runner import store as stores
from dialectic.runner.feedback import save_keeping_feedback
from dialectic.transcript.export import to_record, with_pending_questions
from dialectic.transcript.files import reconcile_status
from dialectic.transcript.schema import DebateRecord

if TYPE_CHECKING:
    from dialectic.extensions.api import Extension

EventHandler = Callable[[dict[str, Any]], None]
# Given the pauses a debate waits at (and whether the user resumed it at them), the input for
# each by pause kind, or None to stay paused: how a terminal or the command line's files answer
# in the same process.
Respond = Callable[[list[Pause], bool], Mapping[str, Any] | None]
SETTINGS_KEY = "dialectic_settings"
CREATED_KEY = "dialectic_created_at"
PARENT_KEY = "dialectic_parent"
BASELINE_KEY = "dialectic_baseline"  # a `dialectic batch` baseline's thread: not a debate


def tools_notice(settings: RunSettings) -> str | None:
    """One line on what the agents' tools may read: the folder, and each agent's tools."""
    equipped = [a for a in settings.agents if a.tools]
    if not equipped:
        return None
    who = "; ".join(f"{a.id}: {', '.join(tool.name for tool in a.tools)}" for a in equipped)
    if settings.context_dir:
        return f"agents may read {settings.context_dir} ({who})"
    return f"agent tools ({who}); no --context folder was given, so only the debate can be searched"


def step_limit(settings: RunSettings) -> int:
    """LangGraph's recursion limit for a debate: its steps with room to spare, and three more
    per turn with tools of each round phase (the join, the tools, the model's next turn)."""
    rounds = settings.config.debate.rounds
    turns = max((a.toolCallLimit for a in settings.agents if a.tools), default=0)
    return 100 + 12 * rounds + 3 * 3 * (turns + 1) * rounds


def widest_step(settings: RunSettings) -> int:
    """The most LLM calls one step of the debate makes: its largest phase with the phases that
    run beside it (30 for the critiques of 6 agents), from the phase table."""
    agents = len(settings.agents)
    batched = settings.config.debate.critiqueMode == "batched"

    def calls(phase: Phase) -> int:
        return expected_calls(phase, agents, batched=batched)

    return max(calls(p) + sum(calls(b) for b in BESIDE.get(p.name, ())) for p in PHASES.values())


def graph_concurrency(calls: int) -> int:
    """LangGraph's ``max_concurrency`` for a streamed run that makes up to ``calls`` LLM calls at
    once: one worker more, for the stream loop's waiter, which shares the pool (with a pool of
    ``calls`` workers a run would make fewer calls at once, and a pool of 1 never starts a node;
    measured on langgraph 1.2.24). Without it the pool is Python's default (cpu count + 4), far
    fewer than a phase's calls. The calls themselves are admitted by the context's gate
    (DebateContext.gate)."""
    return calls + 1


# Warnings already given in this process (a notebook running many debates sees each once).
_WARNED: set[str] = set()


@dataclass
class DebateResult:
    debate_id: str
    status: str
    exit_code: int
    record: DebateRecord
    json_path: Path
    message: str | None = None
    pending: list[Pause] = field(default_factory=list)
    already_complete: bool = False

    @property
    def resume_command(self) -> str:
        """The command that continues this debate (with a budget that covers its next phase)."""
        for pause in self.pending:
            if isinstance(pause, BudgetPause):
                return pause.resume_command(self.debate_id)
        return f"dialectic resume {self.debate_id}"

    @property
    def solution(self) -> str | None:
        return self.record.finalSolution.description if self.record.finalSolution else None


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def thread_config(debate_id: str, checkpoint_id: str | None = None) -> RunnableConfig:
    configurable: dict[str, Any] = {"thread_id": debate_id, "checkpoint_ns": ""}
    if checkpoint_id:
        configurable["checkpoint_id"] = checkpoint_id
    return {"configurable": configurable}


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
        control: RunControl | None = None,
        extensions: Sequence[Extension] = (),
    ) -> None:
        from dialectic.extensions.loading import with_extensions
        from dialectic.graphs.debate import build_graph, options_for
        from dialectic.runner.tracing import tracing_for

        settings = with_extensions(settings, extensions)
        self.debate_id = debate_id
        self.settings = settings
        self.created_at = created_at
        self.parent_id = parent_id
        self.on_event = on_event or (lambda event: None)
        # Asked to drain (Ctrl-C), LangGraph stops at the next step boundary, every finished
        # call checkpointed, and raises GraphDrained.
        self.control = control or RunControl()
        self.graph = build_graph(options_for(settings, extensions)).compile(checkpointer=saver)
        self.context = DebateContext(settings)
        self.tracing = tracing_for(settings)
        metadata = {SETTINGS_KEY: settings.to_json(), CREATED_KEY: created_at}
        if parent_id:
            metadata[PARENT_KEY] = parent_id
        self.config: RunnableConfig = {
            **thread_config(debate_id),
            "metadata": metadata,
            "max_concurrency": graph_concurrency(
                settings.config.debate.maxConcurrency or widest_step(settings)
            ),
            "recursion_limit": step_limit(settings),
        }
        # context_search reads the debate so far from the latest checkpoint.
        self.context.transcript = lambda: self.graph.get_state(self.config).values.get("contributions", [])
        self.json_path = stores.debate_json_path(debate_id)

    def __enter__(self) -> DebateRun:
        return self

    def __exit__(self, *exc: object) -> None:
        self.context.close()

    def state(self) -> dict[str, Any]:
        return dict(self.graph.get_state(self.config).values)

    def save(
        self,
        state: dict[str, Any],
        status: str,
        *,
        stop_reason: str | None = None,
        waiting: Pause | None = None,
    ) -> DebateRecord:
        """Write the debate JSON. ``waiting``: the pause for a person's input the debate stops at."""
        record = to_record(
            self.debate_id,
            state,
            self.settings,
            status=status,
            created_at=self.created_at,
            updated_at=utc_now(),
            parent_id=self.parent_id,
        )
        stop_reason = stop_reason or ("error" if status == "failed" else None)
        if stop_reason:
            record.stopReason = stop_reason
        if waiting is not None and waiting.suspended_at_node:
            record.suspendedAtNode = waiting.suspended_at_node
            record.suspendedAt = record.updatedAt
            if isinstance(waiting, ClarificationPause):
                record.clarifications = with_pending_questions(record.clarifications, waiting.questions)
        save_keeping_feedback(self.json_path, record)  # a reader's verdict outlives a resume
        return record

    def execute(self, graph_input: Any) -> DebateResult:
        check_providers(self.settings)
        warm_up(self.context)
        self.on_event(
            {
                "event": "run_started",
                "debate_id": self.debate_id,
                "agents": [a.id for a in self.settings.agents],
                "rounds": self.settings.config.debate.rounds,
                "settings": self.settings,  # for the -v header
            }
        )
        self._warn_once(self.tracing.warning)
        notice = tools_notice(self.settings)
        if notice:
            self.on_event({"event": "notice", "message": notice})
        modes: list[StreamMode] = ["values", "custom"]
        config: RunnableConfig = {**self.config, "callbacks": self.tracing.callbacks or None}
        try:
            for part in self.graph.stream(
                graph_input,
                config,
                context=self.context,
                stream_mode=modes,
                version="v2",
                durability="sync",
                control=self.control,
            ):
                if part["type"] == "values":
                    state = dict(part["data"])
                    # The synthesis ends the graph: outcome() saves its state at once, with the
                    # debate's status (one JSON write fewer between the last reply and the exit).
                    if state.get("final_solution") is None:
                        self.save(state, "running")
                elif part["type"] == "custom":
                    self.on_event(part["data"])
        except (GraphDrained, KeyboardInterrupt):
            record = self.save(self.state(), "interrupted")
            return DebateResult(
                self.debate_id, "interrupted", ExitCode.INTERRUPTED, record, self.json_path, "interrupted"
            )
        except ProviderError as exc:
            record = self.save(self.state(), "failed")
            return DebateResult(self.debate_id, "failed", ExitCode.PROVIDER, record, self.json_path, str(exc))
        except BaseException:
            self.save(self.state(), "failed")
            raise
        finally:
            self.tracing.flush()
        return self.outcome()

    def _warn_once(self, message: str | None) -> None:
        if message and message not in _WARNED:
            _WARNED.add(message)
            self.on_event({"event": "warning", "message": message})

    def outcome(self, *, already_complete: bool = False) -> DebateResult:
        snapshot = self.graph.get_state(self.config)
        state = dict(snapshot.values)
        pending = by_urgency(read_pauses(snapshot.interrupts))
        status = debate_status(state, pending, finished=not snapshot.next)
        if status == "interrupted":  # the run ended by itself with work left and no pause: a bug
            record = self.save(state, "failed")
            message = "the debate stopped without a final solution"
            return DebateResult(self.debate_id, "failed", ExitCode.BUG, record, self.json_path, message)
        first = pending[0] if pending else None
        record = self.save(
            state, status, stop_reason="budget" if isinstance(first, BudgetPause) else None, waiting=first
        )
        return DebateResult(
            self.debate_id,
            status,
            first.exit_code if first else ExitCode.OK,
            record,
            self.json_path,
            first.describe(self.debate_id) if first else None,
            pending,
            already_complete=already_complete,
        )

    def resume_input(self, given: Mapping[str, Any] | None = None) -> Any:
        """What to send the graph to continue: a value for each pending pause, or nothing.

        ``given`` maps a pause's kind to the user's input for it (answers, a note, …); a pause
        that needs no input (a provider failure, a budget) is simply continued.
        """
        snapshot = self.graph.get_state(self.config)
        if not snapshot.interrupts:
            return None
        given = given or {}
        values: dict[str, Any] = {}
        for item in snapshot.interrupts:
            pause = read_pause(item.value)
            if pause is None:
                raise InputError(
                    f"debate {self.debate_id} waits at a pause this version of dialectic does not know "
                    f"({item.value!r}); resume it with the version that started it"
                )
            if pause.kind in given:
                values[item.id] = given[pause.kind]
            elif not pause.needs_input:
                values[item.id] = {"continue": True}
            else:
                raise InputError(
                    f"debate {self.debate_id} is waiting for input ({pause.kind}); "
                    f"{pause.how_to_continue(self.debate_id)}"
                )
        return Command(resume=values)

    def proceed(self, given: Mapping[str, Any] | None, respond: Respond | None) -> DebateResult:
        """Continue from the last checkpoint. The pause at hand gets ``given``, else what
        ``respond`` gives (None leaves it paused); later pauses are put to ``respond``."""
        snapshot = self.graph.get_state(self.config)
        waiting = [p for p in read_pauses(snapshot.interrupts) if p.needs_input]
        if waiting and given is None and respond is not None:
            given = respond(waiting, True)
            if given is None:
                return self.outcome()
        return self.answered(self.execute(self.resume_input(given)), respond)

    def answered(self, result: DebateResult, respond: Respond | None) -> DebateResult:
        """Go on in this process (holding the writer lock) while each pause gets its input."""
        while respond is not None and result.status == "waiting_for_input":
            given = respond(result.pending, False)
            if given is None:
                break
            result = self.execute(self.resume_input(given))
        return result


def warm_up(context: DebateContext) -> None:
    """Before the first wave, what its first calls would otherwise do inside the wave, the others
    waiting: build every member's model (importing its provider's client) and price a call of
    no tokens (importing the price table)."""
    from dialectic.providers.pricing import call_cost

    context.prepare_models()
    for member in [*context.settings.agents, context.settings.judge]:
        call_cost(member, 0, 0)


def check_providers(settings: RunSettings) -> None:
    """Before any call (and, for a new debate, before its store is created): every provider is
    installed and reachable safely, and every agent has its key. Exit 4, nothing spent."""
    from dialectic.providers.factory import check_keys

    check_keys([*settings.agents, settings.judge], allow_insecure_http=settings.allow_insecure_http)


def start_debate(
    problem: str,
    settings: RunSettings,
    *,
    debate_id: str | None = None,
    db: str | None = None,
    on_event: EventHandler | None = None,
    control: RunControl | None = None,
    respond: Respond | None = None,
    extensions: Sequence[Extension] = (),
) -> DebateResult:
    """Run a new debate to its end (or its first pause that ``respond`` does not answer, or
    failure, or until ``control`` is drained: then it stops after the step in progress, whose calls are
    saved). ``extensions`` are extension functions given from Python, beside those the settings
    name."""
    debate_id = stores.validate_debate_id(debate_id) if debate_id is not None else stores.new_debate_id()
    check_providers(settings)
    with stores.open_store(stores.db_url(db)) as store, store.writer(debate_id, "dialectic debate"):
        stores.require_new(store, debate_id)
        with DebateRun(
            store.saver,
            debate_id,
            settings,
            created_at=utc_now(),
            on_event=on_event,
            control=control,
            extensions=extensions,
        ) as run:
            return run.answered(run.execute({"problem": problem}), respond)


@dataclass(frozen=True)
class StoredDebate:
    """What a debate's latest checkpoint says about it, besides its state."""

    settings_json: str
    created_at: str
    parent_id: str | None

    @property
    def rounds(self) -> int:
        """Its rounds, read leniently (settings saved by another version may not validate)."""
        try:
            return int(json.loads(self.settings_json)["config"]["debate"]["rounds"])
        except (ValueError, KeyError, TypeError):
            return 0


def read_stored(store: stores.Store, debate_id: str, *, required: bool = False) -> StoredDebate | None:
    """A debate's settings, creation time and parent from its latest checkpoint's metadata; None
    for a thread dialectic did not write (or, with ``required``, an error naming the problem)."""
    stores.validate_debate_id(debate_id)
    latest = store.saver.get_tuple(thread_config(debate_id))
    if latest is None:
        if not required:
            return None
        raise InputError(
            f"no debate {debate_id!r} in {stores.redact(store.url)}; `dialectic list` shows the debates there"
        )
    metadata: dict[str, Any] = dict(latest.metadata or {})
    if SETTINGS_KEY not in metadata:
        if not required:
            return None
        if BASELINE_KEY in metadata:
            raise InputError(
                f"{debate_id!r} is the {metadata[BASELINE_KEY]} baseline of a `dialectic batch` sweep, not a "
                f"debate: read its JSON (debates/{debate_id}.json); rerun the sweep to continue it"
            )
        raise InputError(
            f"debate {debate_id!r} in {stores.redact(store.url)} was not written by dialectic (no settings)"
        )
    return StoredDebate(
        str(metadata[SETTINGS_KEY]), str(metadata.get(CREATED_KEY) or utc_now()), metadata.get(PARENT_KEY)
    )


def open_existing(
    store: stores.Store,
    debate_id: str,
    on_event: EventHandler | None = None,
    adjust: Callable[[RunSettings], RunSettings] | None = None,
    extensions: Sequence[Extension] = (),
) -> DebateRun:
    """The run of a debate already in the store, with the settings it started with."""
    stored = read_stored(store, debate_id, required=True)
    assert stored is not None
    settings, repairs = RunSettings.from_stored(stored.settings_json)
    for repair in repairs:
        (on_event or (lambda event: None))({"event": "warning", "message": f"{debate_id}: {repair}"})
    return DebateRun(
        store.saver,
        debate_id,
        adjust(settings) if adjust else settings,
        created_at=stored.created_at,
        parent_id=stored.parent_id,
        on_event=on_event,
        extensions=extensions,
    )


def resume_debate(
    debate_id: str,
    *,
    db: str | None = None,
    on_event: EventHandler | None = None,
    given: Mapping[str, Any] | None = None,
    settings: Callable[[RunSettings], RunSettings] | None = None,
    control: RunControl | None = None,
    respond: Respond | None = None,
    extensions: Sequence[Extension] = (),
) -> DebateResult:
    """Continue a debate from its last checkpoint: finished calls are not made again.

    ``given`` answers the pause it waits at (by interrupt kind), else ``respond`` is asked (and
    answers later pauses too); ``settings`` adjusts the settings it started with (a larger
    budget, a longer timeout) from here on; ``extensions`` supplies extension functions given
    from Python when the debate started (by name).
    """
    stores.require_store(stores.db_url(db), debate_id)
    with (
        stores.open_store(stores.db_url(db)) as store,
        store.writer(debate_id, "dialectic resume"),
        open_existing(store, debate_id, on_event, settings, extensions) as run,
    ):
        # We hold its writer lock: a file still saying "running" is from a process that was killed.
        reconcile_status(run.json_path, "interrupted")
        run.control = control or run.control
        snapshot = run.graph.get_state(run.config)
        if not snapshot.next and snapshot.values.get("final_solution") is not None:
            return run.outcome(already_complete=True)
        return run.proceed(given, respond)


def fork_debate(
    source_id: str,
    checkpoint_id: str,
    *,
    new_id: str | None = None,
    settings: Callable[[RunSettings], RunSettings] | None = None,
    db: str | None = None,
    on_event: EventHandler | None = None,
    control: RunControl | None = None,
    respond: Respond | None = None,
) -> DebateResult:
    """A new debate that starts from a past checkpoint of another; the original is untouched.

    The checkpoint and its ancestors are copied into the new thread (so its history shows
    where it came from), with ``settings`` applied to the parent's settings for what follows.
    """
    new_id = stores.validate_debate_id(new_id) if new_id is not None else stores.new_debate_id()
    stores.require_store(stores.db_url(db), source_id)
    with stores.open_store(stores.db_url(db)) as store:
        parent = open_existing(store, source_id)
        chain = _ancestors(store, source_id, checkpoint_id)
        new_settings = settings(parent.settings) if settings else parent.settings
        chain = _fork_point(parent, chain, new_settings)
        stores.require_new(store, new_id, hint="choose another --id")
        with store.writer(new_id, "dialectic fork"):
            _copy_chain(store, chain, new_id, new_settings, parent_id=source_id)
            with DebateRun(
                store.saver,
                new_id,
                new_settings,
                created_at=utc_now(),
                parent_id=source_id,
                on_event=on_event,
                control=control,
            ) as run:
                return run.proceed(None, respond)


def _ancestors(store: stores.Store, debate_id: str, checkpoint_id: str) -> list[Any]:
    """The checkpoint tuples from the thread's first checkpoint up to ``checkpoint_id``."""
    found = store.saver.get_tuple(thread_config(debate_id, checkpoint_id))
    if found is None:
        raise InputError(
            f"debate {debate_id!r} has no checkpoint {checkpoint_id!r}; `dialectic show {debate_id} --history` lists them"
        )
    chain = [found]
    while chain[-1].parent_config is not None:
        parent = store.saver.get_tuple(chain[-1].parent_config)
        if parent is None:
            break
        chain.append(parent)
    return list(reversed(chain))


def _fork_point(parent: DebateRun, chain: list[Any], settings: RunSettings) -> list[Any]:
    """The checkpoints a fork copies.

    A checkpoint past the end of a round holds the parent's decision there: synthesize, or go on
    to the next round. When the fork's settings decide otherwise (``fork --rounds 5`` at the end
    of a 3-round debate), the fork starts where the round's last join was about to route, and
    the join routes again under the fork's settings: the parent's synthesis is not the fork's.
    """
    debate_id = parent.debate_id
    chosen = parent.graph.get_state(chain[-1].config).values
    round_number = int(chosen.get("round") or 0)
    rounds = settings.config.debate.rounds
    if rounds < round_number:
        raise InputError(
            f"the fork would have {rounds} round(s) but checkpoint {chain[-1].checkpoint['id']} is in round "
            f"{round_number} of {debate_id}; give it --rounds {round_number} or more, or fork at an earlier "
            f"checkpoint (dialectic show {debate_id} --history)"
        )
    if not round_number or not course.decided_otherwise(cast(DebateState, chosen), parent.settings, settings):
        return chain
    for index in range(len(chain) - 1, -1, -1):
        snapshot = parent.graph.get_state(chain[index].config)
        if int(snapshot.values.get("round") or 0) != round_number:
            break
        if snapshot.next == (ROUND[-1].join,):
            return chain[: index + 1]
    return chain


def _copy_chain(
    store: stores.Store,
    chain: Iterable[Any],
    new_id: str,
    settings: RunSettings,
    *,
    parent_id: str,
) -> None:
    """Copy the checkpoints into the fork's thread, each with the writes of the step that
    followed it, except the fork point's: the step after it is the fork's to run, under the
    fork's settings (LangGraph would take the parent's writes as that step's results)."""
    parent_checkpoint: str | None = None
    items = list(chain)
    for index, item in enumerate(items):
        metadata = dict(item.metadata or {})
        if index == len(items) - 1:  # the fork point carries the fork's own settings and parent
            metadata.update({SETTINGS_KEY: settings.to_json(), PARENT_KEY: parent_id, CREATED_KEY: utc_now()})
        target = thread_config(new_id)
        if parent_checkpoint:
            target["configurable"]["checkpoint_id"] = parent_checkpoint
        saved = store.saver.put(
            target,
            item.checkpoint,
            cast(CheckpointMetadata, metadata),
            dict(item.checkpoint["channel_versions"]),
        )
        by_task: dict[str, list[tuple[str, Any]]] = {}
        pending = [] if index == len(items) - 1 else item.pending_writes or []
        for task_id, channel, value in pending:
            by_task.setdefault(task_id, []).append((channel, value))
        for task_id, writes in by_task.items():
            store.saver.put_writes(saved, writes, task_id)
        parent_checkpoint = item.checkpoint["id"]
