"""Progress on stderr: a live table on a terminal, one line per phase otherwise; with -v, the
per-round breakdown and totals at the end."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.table import Table

from dialectic.debate.phases import label
from dialectic.report.inert import terminal_safe
from dialectic.transcript.schema import DebateRecord
from dialectic.transcript.usage import cached_input_note, replayed_note

if TYPE_CHECKING:
    from dialectic.configs.schema import AgentConfig
    from dialectic.configs.settings import RunSettings


def run_header(settings: RunSettings) -> list[str]:
    """What -v says before a run: who debates with which model, provider and prompts, the
    judge, summarization and when the debate ends."""

    def member(agent: AgentConfig) -> str:
        provider = "offline (simulated model)" if settings.offline else agent.provider
        sources = settings.prompt_sources.get(agent.id, {})
        prompts = ", ".join(f"{phase}: {path}" for phase, path in sources.items()) or "built-in"
        return (
            f"{agent.id} ({agent.name}, {agent.role}): model {agent.model}, provider {provider}, "
            f"temperature {agent.temperature:g}; prompts: {prompts}"
        )

    debate = settings.config.debate
    summary = debate.summarization
    end = debate.terminationCondition
    lines = ["agents:", *(f"  {member(agent)}" for agent in settings.agents)]
    lines.append(f"judge: {member(settings.judge)}")
    lines.append(
        f"summarization: {summary.method}, threshold {summary.threshold:,} chars, "
        f"summaries up to {summary.maxLength:,} chars"
        if summary.enabled
        else "summarization: off"
    )
    lines.append(
        f"termination: {end.type}, at most {debate.rounds} round{'s' if debate.rounds != 1 else ''}"
        + (f", stop at consensus {end.threshold:g}" if end.type != "fixed" else "")
    )
    return lines


class Progress:
    def __init__(self, console: Console, *, verbose: bool) -> None:
        self.console = console
        self.verbose = verbose
        self.rounds = 0
        self.started = time.monotonic()
        self.round = 0
        self.phase = "starting"
        self.tokens = 0
        self.agent_state: dict[str, str] = {}
        self.agent_tokens: dict[str, int] = defaultdict(int)
        self.calls: list[dict[str, Any]] = []
        self.phase_calls: dict[tuple[int, str], list[int]] = defaultdict(
            lambda: [0, 0, 0]
        )  # calls, tokens, failed
        self.reported: set[tuple[int, str]] = set()  # a join re-runs after convergence: one line each
        self.header_shown = False
        self.live: Live | None = None
        if console.is_terminal:
            self.live = Live(self._render(), console=console, refresh_per_second=8, transient=True)
            self.live.start()

    def __call__(self, event: dict[str, Any]) -> None:
        kind = event.get("event")
        agent = str(event.get("agent") or "")
        if kind == "run_started":
            self.rounds = int(event["rounds"])
            self.agent_state = {agent: "waiting" for agent in event["agents"]}
            if self.verbose and event.get("settings") is not None and not self.header_shown:
                self.header_shown = True  # once, though a run resumed in this process starts again
                for line in run_header(event["settings"]):
                    self.console.print(escape(terminal_safe(line)), highlight=False)
        elif kind == "round_started":
            self.round = int(event["round"])
        elif kind == "call_started":
            self.phase = str(event.get("phase"))
            self.agent_state[agent] = f"{label(self.phase)}…"
        elif kind == "call_finished":
            tokens = self._count(agent, event)
            self.agent_state[agent] = "done"
            self.phase_calls[_phase_of(event)][0] += 1
            if event.get("phase") == "synthesize":
                self._line(f"judge synthesized the final design ({tokens:,} tokens)")
        elif kind == "call_failed":
            if event.get("tokens"):  # replies it was billed for before failing
                self._count(agent, event)
            self.agent_state[agent] = "failed"
            self.phase_calls[_phase_of(event)][2] += 1
            self._line(f"[yellow]warning:[/] {escape(str(event.get('error')))}")
        elif kind == "phase_done" and (int(event["round"]), str(event["phase"])) not in self.reported:
            self.reported.add((int(event["round"]), str(event["phase"])))
            self._phase_line(int(event["round"]), str(event["phase"]))
        elif kind == "notice":
            self._line(escape(str(event.get("message"))))
        elif kind == "tool_calls" and self.verbose:
            calls = ", ".join(f"{c['name']} {c['arguments']}" for c in event.get("calls", []))
            self._line(escape(f"round {event.get('round')} {agent} ({event.get('phase')}) calls {calls}"))
        elif kind in ("warning", "extension_failed"):
            self._line(f"[yellow]warning:[/] {escape(str(event.get('message') or event.get('error')))}")
        elif kind == "extension_message":
            self._line(escape(f"round {event.get('round')} {event.get('name')}: {event.get('message')}"))
        elif kind == "answers":
            na = f" ({event['na']} NA)" if event.get("na") else ""
            self._line(f"clarification batch {event['iteration']}: {event['questions']} answers{na}")
        elif kind == "steering":
            self._line(f"after round {event['round']}: " + ("note added" if event.get("note") else "no note"))
        elif kind == "consensus":
            tokens = self.phase_calls[(int(event["round"]), "convergence")][1]
            self._line(
                f"round {event['round']}: consensus {event['score']:g} (stop at {event['threshold']:g}), "
                f"{tokens:,} tokens"
            )
        if self.live:
            self.live.update(self._render())

    def _phase_line(self, round_number: int, phase: str) -> None:
        calls, tokens, failed = self.phase_calls.get((round_number, phase), [0, 0, 0])
        extra = ""
        if phase == "refine":  # the summaries run beside the refinements, in the same step
            summaries = self.phase_calls.get((round_number, "summarize"), [0, 0, 0])
            judge = self.phase_calls.get((round_number, "judge_summary"), [0, 0, 0])
            extra = (f" + {summaries[0]} summaries" if summaries[0] else "") + (
                " + the judge's summary" if judge[0] else ""
            )
            tokens, failed = tokens + summaries[1] + judge[1], failed + summaries[2] + judge[2]
        if not (calls or failed or extra):  # its calls were made before a resume: nothing to say
            return
        failures = f", {failed} failed" if failed else ""
        self._line(
            f"round {round_number}/{self.rounds} {label(phase)}: {calls} calls{extra}{failures}, {tokens:,} tokens"
        )

    def _line(self, text: str) -> None:
        elapsed = time.monotonic() - self.started
        self.console.print(f"[dim][{elapsed:6.1f}s][/] {terminal_safe(text)}", highlight=False)

    def _render(self) -> Table:
        elapsed = time.monotonic() - self.started
        table = Table(
            title=f"round {self.round}/{self.rounds} · {label(self.phase)} · {self.tokens:,} tokens · {elapsed:.1f}s",
            title_justify="left",
            show_edge=False,
        )
        table.add_column("agent")
        table.add_column("state")
        table.add_column("tokens", justify="right")
        for agent, state in self.agent_state.items():
            table.add_row(agent, state, f"{self.agent_tokens[agent]:,}")
        return table

    @contextmanager
    def suspended(self) -> Iterator[None]:
        """No live table while the user types: a redrawn table and a prompt garble each other."""
        was_live = self.live is not None
        self.close()
        try:
            yield
        finally:
            if was_live:
                self.live = Live(self._render(), console=self.console, refresh_per_second=8, transient=True)
                self.live.start()

    def _count(self, agent: str, event: dict[str, Any]) -> int:
        """A call's tokens in the totals, its agent's and its phase's, and its row of -v's table."""
        tokens = int(event.get("tokens") or 0)
        self.tokens += tokens
        self.agent_tokens[agent] += tokens
        self.phase_calls[_phase_of(event)][1] += tokens
        self.calls.append(event)
        return tokens

    def close(self) -> None:
        if self.live:
            self.live.stop()
            self.live = None

    def breakdown(self, record: DebateRecord) -> None:
        """The -v summary: every call in the order it finished, then the totals."""
        table = Table(title="calls", title_justify="left")
        for column in ("round", "agent", "phase", "target", "latency ms", "tokens"):
            table.add_column(column, justify="right" if column in ("latency ms", "tokens") else "left")
        for call in self.calls:
            table.add_row(
                str(call.get("round")),
                str(call.get("agent")),
                str(call.get("phase")) + (" (failed)" if call.get("event") == "call_failed" else ""),
                str(call.get("target") or ""),
                str(call.get("latency_ms", "")),
                f"{int(call.get('tokens') or 0):,}",
            )
        self.console.print(table)
        total = (record.usage or {}).get("total", {})
        cost = total.get("costUsd")
        self.console.print(
            f"totals: {total.get('calls', 0)} calls{replayed_note(total)}, {total.get('inputTokens', 0):,} input"
            f"{cached_input_note(total)} + "
            f"{total.get('outputTokens', 0):,} output tokens, cost {'unknown' if cost is None else f'${cost:.4f}'}, "
            f"{time.monotonic() - self.started:.1f}s"
        )


def _phase_of(event: dict[str, Any]) -> tuple[int, str]:
    """The (round, phase) a call event counts toward."""
    return int(event.get("round") or 0), str(event.get("phase"))
