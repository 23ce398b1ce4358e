"""The Markdown report of a debate (spec §7): the TypeScript tool's layout, with contributions
rendered as Markdown (headings nested under their section) and sections for the outcome,
consensus, failures and usage; for a debate with an issue ledger, each round's design changes,
the ledger with the judge's rulings, and the agents' position changes."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from dialectic.debate.diffs import PREAMBLE_LABEL
from dialectic.debate.phases import WRITER
from dialectic.prompts import heading_levels, shift_headings
from dialectic.report.inert import (
    code_span,
    fence,
    markdown_block,
    markdown_line,
    markdown_text,
    terminal_safe,
)
from dialectic.transcript.schema import (
    AgentDiffRecord,
    ContributionRecord,
    DebateRecord,
    LedgerItemRecord,
    SectionDiffRecord,
)
from dialectic.transcript.usage import cached_input_note, replayed_note

_AGENT_COLUMNS = (
    "ID",
    "Name",
    "Role",
    "Model",
    "Provider",
    "Temperature",
    "Enabled",
    "SystemPromptPath",
    "SummaryPromptPath",
    "Summarization",
)


def nest(markdown: str, top: int) -> str:
    """Shift the headings of ``markdown`` so its highest heading is at level ``top`` (max 6)."""
    levels = heading_levels(markdown)
    return shift_headings(markdown, top - min(levels)) if levels else markdown.strip()


def _section(markdown: str, top: int) -> str:
    """Markdown from a model or an extension, nested at ``top`` and made inert (after nesting,
    which strips: the first line's indent decides whether it is code)."""
    return markdown_block(nest(markdown, top))


def title_of(problem: str) -> str:
    for line in problem.splitlines():
        line = line.strip().lstrip("#").strip()
        if line:
            return line
    return "(untitled)"


def _cell(value: Any) -> str:
    if value is None or value == "":
        return "N/A"
    if isinstance(value, (dict, list)):
        value = json.dumps(value, separators=(",", ":"))
    return markdown_text(str(value).replace("\n", " ")).replace("|", "\\|")


def _table(rows: Iterable[Sequence[Any]]) -> str:
    return "\n".join(_grid(_AGENT_COLUMNS, rows, rule=lambda column: "-" * (len(column) + 2)))


def _grid(
    header: Sequence[str], rows: Iterable[Sequence[Any]], rule: Callable[[str], str] = lambda _: "---"
) -> list[str]:
    """A table's lines: ``header`` (ours), then ``rows`` made into cells."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(rule(column) for column in header) + "|"]
    return lines + ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]


def _agent_row(agent: dict[str, Any], summarization: Any, judge: bool = False) -> list[Any]:
    return [
        agent.get("id"),
        agent.get("name"),
        agent.get("role"),
        agent.get("model"),
        agent.get("provider"),
        agent.get("temperature"),
        "N/A" if judge else agent.get("enabled", True),
        agent.get("systemPromptPath"),
        agent.get("summaryPromptPath"),
        summarization,
    ]


def _metrics(contribution: ContributionRecord, verbose: bool) -> str:
    if not verbose:
        return ""
    meta = contribution.metadata
    latency = "N/A" if meta.latencyMs is None else f"{int(meta.latencyMs)}ms"
    return f" (latency={latency}, tokens={_number(meta.tokensUsed)})"


def _number(value: float | int | None) -> str:
    return "N/A" if value is None else str(int(value))


def _contributions(items: list[ContributionRecord], kind: str, verbose: bool) -> list[str]:
    writer = WRITER.get(kind)
    plural = writer.label if writer else f"{markdown_line(kind)} contributions"
    lines = [f"#### {plural[0].upper()}{plural[1:]}", ""]
    chosen = [c for c in items if c.type == kind]
    if not chosen:
        return [*lines, f"No {plural} in this round.", ""]
    for c in chosen:
        if writer is not None and writer.fanout == "peers":  # about other agents' work
            title = f"*{markdown_line(c.agentId)}* → *{markdown_line(c.targetAgentId or 'all peers')}*"
        else:
            title = f"Agent *{markdown_line(c.agentId)}*"
        lines += [f"{title}{_metrics(c, verbose)}:", "", _section(c.content, 5) or "_(empty)_", ""]
        lines += _files_read(c)
    return lines


def _files_read(contribution: ContributionRecord) -> list[str]:
    """The files an agent's tools read for this contribution: its file_read calls that the tool
    answered (a refused read is not a file read)."""
    answers = {
        result.get("tool_call_id"): result.get("content")
        for result in contribution.metadata.toolResults or []
        if isinstance(result, dict)
    }
    paths: list[str] = []
    for call in contribution.metadata.toolCalls or []:
        if not isinstance(call, dict) or call.get("name") != "file_read":
            continue
        if _status(answers.get(call.get("id"))) != "success":
            continue
        try:
            arguments = json.loads(call.get("arguments") or "{}")
        except (TypeError, ValueError):
            continue
        path = arguments.get("path") if isinstance(arguments, dict) else None
        if isinstance(path, str) and path not in paths:
            paths.append(path)
    return [f"Files read: {', '.join(code_span(path) for path in paths)}", ""] if paths else []


def _status(answer: object) -> str | None:
    """A tool result's status ("success" or "error"), None if there is no readable one."""
    try:
        parsed = json.loads(answer) if isinstance(answer, str) else None
    except ValueError:
        return None
    status = parsed.get("status") if isinstance(parsed, dict) else None
    return status if isinstance(status, str) else None


def render_report(
    record: DebateRecord,
    *,
    agents: list[dict[str, Any]] | None = None,
    judge: dict[str, Any] | None = None,
    summarization: dict[str, Any] | None = None,
    verbose: bool = False,
) -> str:
    """The report. ``agents``/``judge`` (config dicts) fill the tables when the file lacks them."""
    agents = agents or record.agents or _agents_from_contributions(record)
    judge = judge or record.judge
    when = record.createdAt or record.updatedAt or ""
    out = [
        f"# Debate: {markdown_line(title_of(record.problem))}",
        f"Time: {markdown_line(_time(when))}",
        "",
        "## Problem Description",
        "",
        fence(record.problem),
        "",
    ]
    out += ["## Agents", "", _table(_agent_row(a, a.get("summarization", summarization)) for a in agents), ""]
    if record.clarifications:
        out += ["## Clarifications", ""]
        if record.clarificationIterations and record.clarificationIterations > 1:
            out += [f"Asked in {record.clarificationIterations} batches (follow-up questions included).", ""]
        for group in record.clarifications:
            out += [
                f"### {markdown_line(group.agentName or group.agentId)} ({markdown_line(group.role)})",
                "",
            ]
            for item in group.items:
                # A multi-line answer stays in its item.
                answer = markdown_text(item.answer.strip()).replace("\n", "\n    ")
                out += [
                    f"- **{markdown_line(item.id)}** {markdown_line(item.question)}",
                    f"  - Answer: {answer}",
                ]
            out.append("")
    out += _steering(record)
    out += ["## Judge", "", _table([_agent_row(judge, summarization, judge=True)] if judge else []), ""]
    out += ["## Rounds", ""]
    for round_record in record.rounds:
        out += [f"### Round {round_record.roundNumber}", ""]
        # The round's phases in order, then any contribution type this version does not know.
        others = [c.type for c in round_record.contributions if c.type not in WRITER]
        for kind in [*WRITER, *dict.fromkeys(others)]:
            out += _contributions(round_record.contributions, kind, verbose)
        out += _design_changes(round_record.diffs)
    out += ["### Final Synthesis", ""]
    if record.finalSolution:
        out += [_section(record.finalSolution.description, 4), ""]
    else:
        out += ["No final synthesis (the debate did not finish).", ""]
    out += ledger_sections(record)
    out += extension_sections(record)
    out += _outcome(record)
    return terminal_safe("\n".join(out).rstrip() + "\n")  # `cat report.md` runs no escape sequence


def _steering(record: DebateRecord) -> list[str]:
    """The user's notes between rounds (``--steer``): every later prompt showed them."""
    if not record.steering:
        return []
    out = ["## Steering Notes", ""]
    for note in record.steering:
        text = "\n  ".join(markdown_text(nest(note.note, 4)).splitlines())
        out.append(f"- **After round {note.afterRound}:** {text}")
    return [*out, ""]


# --- the issue ledger


_LEDGER_COLUMNS = ("ID", "Severity", "Title", "Raised by → target", "Round", "Status", "Last answer")
_SIGNAL_COLUMNS = (
    ("raised", "Raised"),
    ("accepted", "Accepted"),
    ("rebutted", "Rebutted"),
    ("deferred", "Deferred"),
    ("reopened", "Reopened"),
    ("closed", "Closed"),
    ("concessionsWithoutNewArgument", "Concessions without a new argument"),
)
_STATUSES = ("open", "reopened", "rebutted", "deferred", "accepted", "closed")


def _rows(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[str]:
    return [*_grid(header, rows), ""]


def ledger_sections(record: DebateRecord) -> list[str]:
    """The issue ledger (one row per item, in id order), the judge's rulings on it and the risks
    it left, and each agent's position changes. Nothing for a debate without a ledger."""
    if not record.ledger:
        return []
    counts = {status: sum(item.status == status for item in record.ledger) for status in _STATUSES}
    tally = ", ".join(f"{count} {status}" for status, count in counts.items() if count)
    out = ["## Issue Ledger", "", f"{len(record.ledger)} items raised: {tally}.", ""]
    out += _rows(_LEDGER_COLUMNS, (_ledger_row(item) for item in record.ledger))
    final = record.finalSolution
    if final and final.rulings:
        out += ["### Judge's Rulings", ""]
        out += _rows(("Item", "Ruling", "Reason"), ((r.id, r.ruling, r.reason) for r in final.rulings))
    if final and final.remainingRisks:
        out += ["### Remaining Risks", ""]
        out += _rows(("Risk",), ([risk] for risk in final.remainingRisks))
    if record.positionChanges:
        out += ["## Position Changes", ""]
        out += _rows(
            ("Agent", *(title for _, title in _SIGNAL_COLUMNS)),
            (
                [agent, *(getattr(signals, name) for name, _ in _SIGNAL_COLUMNS)]
                for agent, signals in record.positionChanges.items()
            ),
        )
    return out


def _ledger_row(item: LedgerItemRecord) -> list[Any]:
    last = item.history[-1] if item.history else None
    answer = (
        f"{last.answer} by {last.by} (round {last.round})" + (f": {last.text}" if last.text.strip() else "")
        if last
        else "none"
    )
    return [
        item.id,
        item.severity,
        item.title,
        f"{item.raisedBy} → {item.target}",
        item.round,
        item.status,
        answer,
    ]


def _design_changes(diffs: list[AgentDiffRecord] | None) -> list[str]:
    """What each refinement of the round changed, section by section, and the items that caused
    it (an item naming a section that did not change is marked unconfirmed)."""
    if not diffs:
        return []
    out = ["#### Design changes", ""]
    for diff in diffs:
        agent = f"*{markdown_line(diff.agentId)}*"
        if not diff.sections:
            out.append(f"- {agent}: no section changed")
        out += [f"- {agent}: {_section_change(section)}" for section in diff.sections]
    return [*out, ""]


def _section_change(section: SectionDiffRecord) -> str:
    title = markdown_line(section.title) if section.title.strip() else PREAMBLE_LABEL
    items = ", ".join(markdown_line(item) for item in section.items)
    if items and not section.confirmed:
        items += " (unconfirmed)"
    return " — ".join(part for part in (title, markdown_line(section.change), items) if part)


def extension_sections(record: DebateRecord) -> list[str]:
    """The report hook of extensions: the latest ``report`` Markdown each one returned, saved
    in the debate JSON, so a saved debate renders without importing the extension."""
    out: list[str] = []
    for name, entry in (record.extensions or {}).items():
        text = entry.get("report") if isinstance(entry, dict) else None
        if isinstance(text, str) and text.strip():
            out += [f"## Extension: {markdown_line(name)}", "", _section(text, 3), ""]
    return out


def _outcome(record: DebateRecord) -> list[str]:
    out = ["## Outcome", "", f"- Status: {markdown_line(record.status)}"]
    if record.stopReason:
        out.append(f"- Stop reason: {markdown_line(record.stopReason)}")
    if record.finalSolution and record.finalSolution.confidence is not None:
        out.append(f"- Confidence: {_number(record.finalSolution.confidence)}/100")
    out.append("")
    if record.consensus:
        out += ["## Consensus", "", "| Round | Score | Reason |", "|---|---|---|"]
        out += [f"| {c.round} | {c.score:g} | {_cell(c.reason)} |" for c in record.consensus]
        out.append("")
    if record.failures:
        out += [
            "## Failures",
            "",
            "| Agent | Phase | Round | Kind | Recovered | Error |",
            "|---|---|---|---|---|---|",
        ]
        out += [
            f"| {_cell(f.agentId)} | {_cell(f.phase)} | {f.round} | {_failure_kind(f.transient)} | "
            f"{'yes' if f.recovered else 'no'} | {_cell(f.error)} |"
            for f in record.failures
        ]
        out.append("")
    if record.usage:
        out += _usage(record.usage)
    return out


def _failure_kind(transient: bool | None) -> str:
    """transient: retrying later may help (the debate paused for it); permanent: it may not."""
    return "" if transient is None else "transient" if transient else "permanent"


def _usage(usage: dict[str, Any]) -> list[str]:
    def cost(bucket: dict[str, Any]) -> str:
        value = bucket.get("costUsd")
        return "unknown" if value is None else f"${value:.4f}"

    out = [
        "## Usage and Cost",
        "",
        "| Scope | Calls | Input tokens | Output tokens | Cost |",
        "|---|---|---|---|---|",
    ]
    total = usage.get("total", {})
    rows = [("**Total**", total)]
    for scope in ("agent", "phase", "round"):  # names from the debate file: table cells
        by = usage.get(f"by{scope.title()}", {})
        rows += [(f"{scope} {_cell(name)}", bucket) for name, bucket in by.items()]
    for scope, bucket in rows:
        calls = _cell(bucket.get("calls", 0)) + replayed_note(bucket, _cell)
        output = _cell(bucket.get("outputTokens", 0))
        inputs = _cell(bucket.get("inputTokens", 0)) + cached_input_note(bucket, _cell)
        out.append(f"| {scope} | {calls} | {inputs} | {output} | {cost(bucket)} |")
    out.append("")
    return out


def _agents_from_contributions(record: DebateRecord) -> list[dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}
    for round_record in record.rounds:
        for c in round_record.contributions:
            seen.setdefault(c.agentId, {"id": c.agentId, "role": c.agentRole, "model": c.metadata.model})
    return list(seen.values())


def _time(value: str) -> str:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return value or "unknown"
