"""The ``dialectic`` command: parse, load settings, call the library, print.

stdout carries only the product (solution, report, drawing, JSON); progress, warnings and errors
go to stderr. LangGraph and LangChain are imported inside commands, never at start-up.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from dialectic.errors import DialecticError, ExitCode, InputError
from dialectic.runner import process

if TYPE_CHECKING:
    from langgraph.runtime import RunControl
    from rich.console import Console

    from dialectic.configs.settings import RunSettings
    from dialectic.runner.human import HumanInput
    from dialectic.runner.run import DebateResult, Respond

app = typer.Typer(
    name="dialectic",
    help="Multi-agent software-design debates: agents propose, critique and refine; a judge synthesizes.",
    epilog=(
        'Examples:  dialectic debate --offline "Design a rate limiter for a public API"  |  '
        "dialectic list  |  dialectic resume <id>  |  dialectic report --debate <id> -o report.md"
    ),
    add_completion=True,  # --install-completion / --show-completion
    context_settings={"help_option_names": ["-h", "--help"]},
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

Verbose = Annotated[
    bool, typer.Option("-v", "--verbose", help="Per-round breakdown, totals, and tracebacks on errors.")
]
Db = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Checkpoint store: SQLite path (default ./debates/dialectic.sqlite) or postgresql://…. Env: DIALECTIC_DB.",
    ),
]
Output = Annotated[
    str | None,
    typer.Option("-o", "--output", help="*.json: the full debate JSON; otherwise: the solution text."),
]
DebateId = Annotated[str, typer.Argument(help="The id of the debate.", show_default=False)]
ReportPath = Annotated[str | None, typer.Option("--report", help="Also write the Markdown report here.")]
Timeout = Annotated[
    float | None, typer.Option("--timeout", help="Seconds each LLM call may take (all agents).")
]
MaxConcurrency = Annotated[
    int | None, typer.Option("--max-concurrency", help="Hard cap on LLM calls in flight (default: none).")
]
MaxTokens = Annotated[
    int | None, typer.Option("--max-tokens", help="Budget: pause before a phase would exceed N tokens.")
]
MaxCost = Annotated[
    float | None, typer.Option("--max-cost", help="Budget: pause before a phase would exceed USD.")
]
Cache = Annotated[str | None, typer.Option("--cache", help="Replay cache of LLM responses (SQLite file).")]
EnvFile = Annotated[
    str | None, typer.Option("-e", "--env-file", help="dotenv file (default: ./.env if present).")
]
Context = Annotated[
    str | None,
    typer.Option(
        "--context",
        help="Folder the agents' file tools may read (their config lists the tools); kept with the debate.",
    ),
]
AllowInsecureHttp = Annotated[
    bool,
    typer.Option(
        "--allow-insecure-http",
        help="Allow plain http:// to an LLM endpoint on another machine. Env: DIALECTIC_ALLOW_INSECURE_HTTP=1.",
    ),
]
TrustConfig = Annotated[
    bool,
    typer.Option(
        "--trust-config",
        help="Trust the config: prompt files outside its folder, and the extensions of an implicit "
        "./debate-config.json. Env: DIALECTIC_TRUST_CONFIG=1.",
    ),
]
Strict = Annotated[
    bool,
    typer.Option(
        "--strict",
        help='Config leniencies (unknown keys, an unknown role, synthesisMethod "voting") are errors, not warnings.',
    ),
]
Answers = Annotated[
    str | None,
    typer.Option(
        "--answers",
        help='JSON answers to the clarifying questions, {"q1": "answer", …} (without a terminal).',
    ),
]


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        sys.stdout.write(f"dialectic {version('dialectic-debate')}\n")
        raise typer.Exit()


@app.callback()
def _root(
    show_version: Annotated[
        bool,
        typer.Option("-V", "--version", help="Print the version and exit.", callback=_version, is_eager=True),
    ] = False,
) -> None:
    """Multi-agent software-design debates: agents propose, critique and refine; a judge synthesizes."""


def _stderr() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


def _warn(console: Console, lines: list[str]) -> None:
    """Warnings whose text may come from a config or a file: printed as data, never as markup."""
    for line in lines:
        _plain(console, line if line.startswith("no ") else f"warning: {line}")


@app.command(
    epilog=(
        'Examples:  dialectic debate --offline "Design a rate limiter for a public API"  |  '
        "dialectic debate -p problem.md -c debate-config.json -r 2 -o result.json --report report.md  |  "
        "dialectic debate -p problem.md --clarify --steer"
    )
)
def debate(
    problem: Annotated[
        str | None, typer.Argument(help="The problem, inline. Or use --problem-file.", show_default=False)
    ] = None,
    problem_file: Annotated[
        str | None,
        typer.Option("-p", "--problem-file", "--problemDescription", help="UTF-8 file holding the problem."),
    ] = None,
    config: Annotated[
        str | None,
        typer.Option(
            "-c", "--config", help="Config file (JSON or YAML). Default: ./debate-config.json, else built-in."
        ),
    ] = None,
    agents: Annotated[
        str | None,
        typer.Option("-a", "--agents", help="Comma-separated roles to select from the config's agents."),
    ] = None,
    rounds: Annotated[str | None, typer.Option("-r", "--rounds", help="Number of rounds (>= 1).")] = None,
    output: Output = None,
    report: ReportPath = None,
    env_file: EnvFile = None,
    verbose: Verbose = False,
    offline: Annotated[
        bool, typer.Option("--offline", help="Use the built-in simulated model: no key, no network.")
    ] = False,
    debate_id: Annotated[
        str | None, typer.Option("--id", help="Debate id (default deb-YYYYMMDD-HHMMSS-xxxx).")
    ] = None,
    db: Db = None,
    timeout: Timeout = None,
    max_concurrency: MaxConcurrency = None,
    max_tokens: MaxTokens = None,
    max_cost: MaxCost = None,
    cache: Cache = None,
    clarify: Annotated[
        bool,
        typer.Option("--clarify", help="Before round 1, the agents ask you questions about the problem."),
    ] = False,
    answers: Answers = None,
    steer: Annotated[
        bool, typer.Option("--steer", help="After each round but the last, pause for your note.")
    ] = False,
    context: Context = None,
    allow_insecure_http: AllowInsecureHttp = False,
    trust_config: TrustConfig = False,
    strict: Strict = False,
) -> int:
    """Run a debate on a design problem and print the final solution."""
    process.starting()
    from dialectic.runner import human, inputs
    from dialectic.runner.run import start_debate
    from dialectic.runner.store import new_debate_id, validate_debate_id

    console = _stderr()
    _warn(console, inputs.load_env_file(env_file))
    _check_outputs(db, output, report)
    text = inputs.read_problem(problem, problem_file)
    given = human.read_answers(answers) if answers else None
    settings, notices = inputs.prepare_settings(
        config,
        roles=inputs.parse_roles(agents),
        rounds=inputs.parse_rounds(rounds),
        offline=offline,
        trust_config=trust_config,
        strict=strict,
    )
    settings = inputs.run_overrides(
        timeout=timeout,
        max_concurrency=max_concurrency,
        max_tokens=max_tokens,
        max_cost=max_cost,
        cache=cache,
        context=context,
    )(settings)
    settings = settings.model_copy(
        update={"clarify": clarify, "steer": steer, "allow_insecure_http": allow_insecure_http}
    )
    if given is not None and not (clarify or settings.config.debate.interactiveClarifications):
        raise InputError(
            "--answers needs --clarify (or debate.interactiveClarifications: true in the config)"
        )
    _warn(console, notices)
    chosen = validate_debate_id(debate_id) if debate_id is not None else new_debate_id()
    return _run(
        console,
        chosen,
        lambda on_event, control, respond: start_debate(
            text, settings, debate_id=chosen, db=db, on_event=on_event, control=control, respond=respond
        ),
        output=output,
        report=report,
        verbose=verbose,
        human_input=human.answerer(console, answers=given),
    )


def _run(
    console: Console,
    debate_id: str,
    start: Callable[[Callable[[dict[str, Any]], None], RunControl, Respond | None], DebateResult],
    *,
    output: str | None,
    report: str | None,
    verbose: bool,
    human_input: Callable[[Callable[[], AbstractContextManager[None]]], HumanInput] | None = None,
) -> int:
    """Run with progress and Ctrl-C handling, then write the products and the closing lines.

    ``human_input`` builds the answerer of pauses (given a way to hide the live progress)."""
    from dialectic.runner.interrupts import graceful_interrupts
    from dialectic.runner.progress import Progress
    from dialectic.runner.store import debate_json_path
    from dialectic.transcript.files import mark_status

    progress = Progress(console, verbose=verbose)

    def on_event(event: dict[str, Any]) -> None:
        if event.get("event") == "run_started":  # the imports are done, the calls begin
            process.started()
        progress(event)

    def abort() -> None:
        progress.close()
        mark_status(debate_json_path(debate_id), "interrupted")
        console.print(f"stopped. resume with: dialectic resume {debate_id}")

    respond = human_input(progress.suspended) if human_input else None
    try:
        with graceful_interrupts(console.print, abort) as control:
            result = start(on_event, control, respond)
    finally:
        progress.close()
    if verbose:
        progress.breakdown(result.record)
    _warn(console, respond.unused() if respond else [])
    return _finish(console, result, output=output, report=report, verbose=verbose)


def _finish(
    console: Console, result: DebateResult, *, output: str | None, report: str | None, verbose: bool
) -> int:
    """Write the products, then the closing stderr lines (id, JSON path, how to resume)."""
    from rich.markup import escape

    from dialectic.report.inert import terminal_safe

    if result.solution is not None or (output is not None and _is_json(output)):
        _write_output(result, output)  # the debate JSON of an unfinished debate too: where it stands
    if report:
        _write_report(console, result, report, verbose)
    if result.already_complete:
        console.print(f"debate {result.debate_id} was already complete; nothing to resume")
    if result.status == "degraded":
        failed = len([f for f in result.record.failures or [] if not f.recovered])
        console.print(
            f"[yellow]warning:[/] the debate finished degraded: {failed} call(s) failed (see the report's Failures section)"
        )
    console.print(f"debate {result.debate_id}: {result.status} · JSON {result.json_path}")
    if result.status == "waiting_for_input":
        from dialectic.runner.human import pause_lines

        for line in [*pause_lines(result.pending), result.message or ""]:
            console.print(terminal_safe(line), markup=False)
        if "dialectic resume" not in (result.message or ""):
            console.print(f"resume with: dialectic resume {result.debate_id}")
    elif result.exit_code != 0:
        if result.message and result.status != "interrupted":
            label = "[yellow]paused:[/]" if result.exit_code == ExitCode.PAUSED else "[red]error:[/]"
            console.print(f"{label} {escape(terminal_safe(result.message))}")
        console.print(f"resume with: {result.resume_command}")
    return result.exit_code


def _check_outputs(db: str | None, output: str | None, report: str | None = None) -> None:
    """Refuse an output path we could not write (or that is the store) before any LLM call."""
    from dialectic.runner.outputs import check_output

    if output:
        check_output(output, "-o", db=db)
    if report:  # the path given (a folder is a mistake) and the .md file written
        check_output(report, "--report", db=db)
        check_output(_report_file(report), "--report", db=db)


def _report_file(target: str) -> Path:
    """Where --report writes: the path, with .md appended if it has none (as the TypeScript tool)."""
    return Path(target) if target.lower().endswith(".md") else Path(target.rstrip("/\\") + ".md")


def _is_json(output: str) -> bool:
    """Whether ``-o`` asks for the debate JSON (else the solution's text)."""
    return Path(output).suffix.lower() == ".json"


def _write_output(result: DebateResult, output: str | None) -> None:
    if output is None:
        from dialectic.report.inert import terminal_safe

        sys.stdout.write(terminal_safe(result.solution or ""))  # model text: no escape sequences
        if result.solution and not result.solution.endswith("\n"):
            sys.stdout.write("\n")
        return
    from dialectic.transcript.files import write_atomic, write_record

    path = Path(output)
    if _is_json(output):
        try:  # the run has just saved this record: copy its text rather than encode it again
            write_atomic(path, result.json_path.read_text(encoding="utf-8"))
        except OSError:
            write_record(path, result.record)
    else:
        write_atomic(path, result.solution or "")


def _write_report(console: Console, result: DebateResult, target: str, verbose: bool) -> None:
    from dialectic.report.markdown import render_report
    from dialectic.transcript.files import write_atomic

    path = _report_file(target)
    if path != Path(target):  # as the TypeScript tool: append .md, and say so
        _warn(console, [f"--report {target} does not end in .md; writing {path}"])
    try:
        write_atomic(path, render_report(result.record, verbose=verbose))
    except OSError as exc:
        console.print(
            f"[yellow]warning:[/] could not write the report to {path.resolve()}: {exc.strerror or exc}"
        )
    else:
        console.print(f"report written to {path}")


@app.command(
    epilog=(
        "Examples:  dialectic resume deb-20250101-120000-ab12 --report report.md  |  "
        "dialectic resume deb-20250101-120000-ab12 --answers answers.json  |  "
        'dialectic resume deb-20250101-120000-ab12 --note "the budget is fixed at two servers"'
    )
)
def resume(
    debate_id: Annotated[str, typer.Argument(help="The id of the debate to continue.", show_default=False)],
    output: Output = None,
    report: ReportPath = None,
    env_file: EnvFile = None,
    verbose: Verbose = False,
    db: Db = None,
    timeout: Timeout = None,
    max_concurrency: MaxConcurrency = None,
    max_tokens: MaxTokens = None,
    max_cost: MaxCost = None,
    cache: Cache = None,
    answers: Answers = None,
    note: Annotated[
        str | None,
        typer.Option("--note", help='Steering note for the agents and the judge ("" just continues).'),
    ] = None,
    note_file: Annotated[
        str | None, typer.Option("--note-file", help="Read the steering note from this UTF-8 file.")
    ] = None,
    context: Context = None,
) -> int:
    """Continue a debate from its last checkpoint, with the settings it started with
    (the options given here replace theirs from now on)."""
    process.starting()
    from dialectic.runner import human, inputs
    from dialectic.runner.run import resume_debate
    from dialectic.runner.store import validate_debate_id

    _warn(_stderr(), inputs.load_env_file(env_file))
    validate_debate_id(debate_id)
    _check_outputs(db, output, report)
    change = inputs.run_overrides(
        timeout=timeout,
        max_concurrency=max_concurrency,
        max_tokens=max_tokens,
        max_cost=max_cost,
        cache=cache,
        context=context,
    )
    given = human.read_answers(answers) if answers else None
    steering_note = human.read_note(note, note_file)
    console = _stderr()
    return _run(
        console,
        debate_id,
        lambda on_event, control, respond: resume_debate(
            debate_id, db=db, on_event=on_event, settings=change, control=control, respond=respond
        ),
        output=output,
        report=report,
        verbose=verbose,
        human_input=human.answerer(console, answers=given, note=steering_note),
    )


@app.command("list", epilog="Example:  dialectic list --json")
def list_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    db: Db = None,
) -> int:
    """List the debates in the checkpoint store, newest first."""
    import json
    from dataclasses import asdict

    with process.start_up():
        from dialectic.runner.catalog import list_debates

    rows = list_debates(db)
    if as_json:
        sys.stdout.write(json.dumps([asdict(row) for row in rows], indent=2) + "\n")
        return 0
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from dialectic.report.inert import one_line

    cells = [
        (row.id, row.status, f"{row.rounds_done}/{row.max_rounds}", row.created_at[:19].replace("T", " "))
        for row in rows
    ]
    names = ("id", "status", "rounds", "created")
    # Only the problem gives way on a narrow terminal: an id cut short could not be resumed.
    widths = [max([len(name), *(len(cell[i]) for cell in cells)]) for i, name in enumerate(names)]
    table = Table(show_edge=False, box=None, pad_edge=False)
    for name, width in zip(names, widths, strict=True):
        table.add_column(name, no_wrap=True, min_width=width)
    table.add_column("problem", overflow="ellipsis")
    for row, cell in zip(rows, cells, strict=True):
        # Stored text: no escape sequences, no rich markup, one line cut with "…" to fit.
        table.add_row(*cell, Text(one_line(row.problem), no_wrap=True, overflow="ellipsis"))
    if rows:
        width = max(Console().width, sum(widths) + 2 * len(widths) + 12)
        Console(soft_wrap=True, width=width).print(table)
    else:
        _stderr().print("no debates in this store yet")
    return 0


@app.command(epilog="Example:  dialectic show deb-20250101-120000-ab12 --history")
def show(
    debate_id: DebateId,
    history: Annotated[
        bool, typer.Option("--history", help="Also list its checkpoints (fork points).")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")] = False,
    diff: Annotated[
        bool,
        typer.Option(
            "--diff",
            help="Instead: per round and agent, the design sections changed and the items that caused it.",
        ),
    ] = False,
    round_number: Annotated[
        int | None, typer.Option("--round", help="With --diff: only this round.", show_default=False)
    ] = None,
    db: Db = None,
) -> int:
    """Where a debate stands: status, where it stopped, pending questions, usage so far."""
    import json

    if round_number is not None and not diff:
        raise InputError("--round needs --diff")
    if diff and (as_json or history):
        raise InputError("--diff prints only the round diffs: leave out --json and --history")
    if diff:
        return _show_diff(db, debate_id, round_number)
    with process.start_up():
        from dialectic.runner.catalog import show_debate

    detail = show_debate(db, debate_id, history=history)
    if as_json:
        sys.stdout.write(json.dumps(detail.as_dict(), indent=2, default=str) + "\n")
        return 0
    lines = [
        f"debate {detail.id}: {detail.status}" + (f" (forked from {detail.parent})" if detail.parent else ""),
        # Rounds done, as `dialectic list` counts them; the round in progress if there is one.
        f"rounds done: {detail.rounds_done} of {detail.max_rounds}"
        + (
            f" (round {detail.round} in progress)"
            if detail.next and detail.round > detail.rounds_done
            else ""
        )
        + (f"; next: {', '.join(detail.next)}" if detail.next else ""),
    ]
    if detail.running_by:
        lines.append(f"running: {detail.running_by}")
    if detail.done or detail.pending_calls:
        lines.append(
            f"this step: done {', '.join(detail.done) or 'none'}; {detail.pending_calls} call(s) to make"
        )
    from dialectic.debate.pauses import ClarificationPause, read_pause
    from dialectic.runner.human import pause_lines
    from dialectic.transcript.usage import cached_input_note, replayed_note

    pauses = [(item, read_pause(item)) for item in detail.pending]
    lines += pause_lines([p for _, p in pauses if p is not None])  # the clarifying questions, by agent
    lines += [
        f"waiting: {json.dumps(item, default=str)}"
        for item, p in pauses
        if not isinstance(p, ClarificationPause)
    ]
    if detail.how_to_continue:
        lines.append(f"to continue: {detail.how_to_continue}")
    for failure in detail.failures:
        lines.append(
            f"failed: {failure['agent']} in {failure['phase']} of round {failure['round']}: {failure['error']}"
        )
    usage = detail.usage
    lines.append(
        f"usage: {usage['calls']} calls{replayed_note(usage)}, {usage['inputTokens']:,} input"
        f"{cached_input_note(usage)} + "
        f"{usage['outputTokens']:,} output tokens"
    )
    if detail.final_confidence is not None:
        lines.append(f"final solution: confidence {detail.final_confidence:g}/100")
    if history:
        lines.append("checkpoints (oldest first; fork with: dialectic fork ID --at CHECKPOINT):")
        for row in detail.checkpoints:
            lines.append(
                f"  {row['checkpoint']}  step {row['step']:>3}  round {row['round']}  after {row['node'] or '-'}"
            )
    from dialectic.report.inert import terminal_safe

    sys.stdout.write(terminal_safe("\n".join(lines)) + "\n")  # model and provider text inside
    return 0


def _show_diff(db: str | None, debate_id: str, round_number: int | None) -> int:
    with process.start_up():
        from dialectic.debate.diffs import round_diffs
        from dialectic.report.round_diffs import diff_lines
        from dialectic.runner.stored_state import read_state

    stored = read_state(db, debate_id)
    _warn(_stderr(), stored.notices)
    found = round_diffs(stored.values, [agent.id for agent in stored.settings.agents])
    lines = diff_lines(found, stored.values.get("round") or 0, round_number)
    sys.stdout.write("\n".join(lines) + "\n")  # model text made terminal-safe line by line
    return 0


@app.command(
    epilog="Example:  dialectic fork deb-20250101-120000-ab12 --at 1f0c… --rounds 4 --id deb-four-rounds"
)
def fork(
    debate_id: Annotated[str, typer.Argument(help="The debate to fork.", show_default=False)],
    at: Annotated[str, typer.Option("--at", help="Checkpoint id to start from (see `show --history`).")],
    rounds: Annotated[str | None, typer.Option("-r", "--rounds", help="Rounds for the fork.")] = None,
    config: Annotated[
        str | None, typer.Option("-c", "--config", help="Config for the fork (same agent ids).")
    ] = None,
    new_id: Annotated[str | None, typer.Option("--id", help="Id of the new debate.")] = None,
    output: Output = None,
    report: ReportPath = None,
    env_file: EnvFile = None,
    offline: Annotated[bool, typer.Option("--offline", help="Use the built-in simulated model.")] = False,
    verbose: Verbose = False,
    db: Db = None,
    context: Context = None,
    trust_config: TrustConfig = False,
    strict: Strict = False,
) -> int:
    """Start a new debate from a past checkpoint of another; the original stays untouched."""
    process.starting()
    from dialectic.runner import human, inputs
    from dialectic.runner.run import fork_debate
    from dialectic.runner.store import new_debate_id, validate_debate_id

    _warn(_stderr(), inputs.load_env_file(env_file))
    validate_debate_id(debate_id)
    _check_outputs(db, output, report)
    chosen = validate_debate_id(new_id) if new_id is not None else new_debate_id()
    console = _stderr()
    derive = inputs.fork_settings(
        config,
        rounds=inputs.parse_rounds(rounds),
        offline=offline,
        trust_config=trust_config,
        strict=strict,
        warn=lambda notices: _warn(console, notices),
    )
    run = inputs.run_overrides(context=context)

    def change(parent: RunSettings) -> RunSettings:
        return run(derive(parent))

    return _run(
        console,
        chosen,
        lambda on_event, control, respond: fork_debate(
            debate_id,
            at,
            new_id=chosen,
            settings=change,
            db=db,
            on_event=on_event,
            control=control,
            respond=respond,
        ),
        output=output,
        report=report,
        verbose=verbose,
        human_input=human.answerer(console),
    )


@app.command("report", epilog="Example:  dialectic report --debate deb-20250101-120000-ab12 -o report.md")
def report_command(
    debate_ref: Annotated[
        str, typer.Option("--debate", "-d", help="A debate JSON file, or the id of a debate in ./debates.")
    ],
    output: Annotated[
        str | None, typer.Option("-o", "--output", help="Write the report here instead of stdout.")
    ] = None,
    config: Annotated[
        str | None, typer.Option("-c", "--config", help="Config whose agents fill the report's tables.")
    ] = None,
    verbose: Verbose = False,
) -> int:
    """Write the Markdown report of a saved debate (ours or the TypeScript tool's)."""
    from dialectic.report.markdown import render_report
    from dialectic.transcript.files import read_record, write_atomic

    _check_outputs(None, output)
    record = read_record(_debate_path(debate_ref))
    agents = judge = summarization = None
    if config:
        from dialectic.configs.loader import load_config

        loaded, _, _ = load_config(Path(config))
        agents = [
            {
                **a.model_dump(exclude_none=True),
                "summarization": loaded.summarization_for(a).model_dump(exclude_none=True),
            }
            for a in loaded.agents
        ]
        judge = loaded.judge.model_dump(exclude_none=True)
        summarization = loaded.summarization_for(loaded.judge).model_dump(exclude_none=True)
    text = render_report(record, agents=agents, judge=judge, summarization=summarization, verbose=verbose)
    if output:
        write_atomic(Path(output), text)
        _stderr().print(f"report written to {output}")
    else:
        sys.stdout.write(text)
    return 0


@app.command(
    "adr",
    epilog="Examples:  dialectic adr deb-20250101-120000-ab12 -o adr.md  |  dialectic adr deb-20250101-120000-ab12",
)
def adr_command(
    debate_id: DebateId,
    output: Annotated[
        str | None, typer.Option("-o", "--output", help="Write the ADR here instead of stdout.")
    ] = None,
    db: Db = None,
) -> int:
    """Write the architecture decision record of a debate (Markdown): context, decision, options
    considered, consequences, open risks and dissent. A debate without a synthesis gets one with
    Status "Proposed"."""
    with process.start_up():
        from dialectic.report.adr import render_adr
        from dialectic.runner.stored_state import read_state
        from dialectic.transcript.files import write_atomic

    _check_outputs(db, output)
    stored = read_state(db, debate_id)
    console = _stderr()
    _warn(console, stored.notices)
    text = render_adr(stored.values, stored.settings, debate_id=stored.id, status=stored.status)
    if stored.values.get("final_solution") is None:
        _plain(
            console,
            f"warning: debate {stored.id} has no synthesis yet ({stored.status}): the ADR is Proposed",
        )
    if output:
        write_atomic(Path(output), text)
        _plain(console, f"ADR written to {output}")
    else:
        sys.stdout.write(text)
    return 0


def _debate_path(reference: str) -> Path:
    path = Path(reference)
    if path.exists() or reference.endswith(".json") or "/" in reference:
        return path
    from dialectic.runner.store import debate_json_path

    candidate = debate_json_path(reference)
    if not candidate.exists():
        raise InputError(
            f"no debate file {reference!r} and no debate with that id in {candidate.parent.resolve()}"
        )
    return candidate


@app.command(
    "eval",
    epilog=(
        "Examples:  dialectic eval -c eval_config.json -d debates/deb-1.json  |  "
        "dialectic eval -c eval_config.json -d debates/deb-1.json --repeats 3 -o scores.csv  |  "
        "dialectic eval -c eval_config.json --compare a.json b.json"
    ),
)
def eval_command(
    config: Annotated[
        str,
        typer.Option(
            "-c", "--config", metavar="FILE", help="Evaluator config (JSON); prompt paths are relative to it."
        ),
    ],
    debate_file: Annotated[
        str | None,
        typer.Option(
            "-d", "--debate", metavar="FILE", help="The debate JSON to score (ours or the TypeScript tool's)."
        ),
    ] = None,
    compare: Annotated[
        tuple[str, str] | None,
        typer.Option(
            "--compare",
            metavar="A.json B.json",
            help="Two debate JSON files: which final solution is better?",
        ),
    ] = None,
    output: Annotated[
        str | None,
        typer.Option(
            "-o",
            "--output",
            metavar="PATH",
            help="*.json: aggregated JSON; *.csv: append a row; else a Markdown table.",
        ),
    ] = None,
    repeats: Annotated[
        str | None,
        typer.Option("--repeats", metavar="K", help="Run every evaluator K times and report the spread."),
    ] = None,
    env_file: Annotated[
        str | None,
        typer.Option("-e", "--env-file", metavar="PATH", help="dotenv file (default: ./.env if present)."),
    ] = None,
    verbose: Annotated[
        bool, typer.Option("-v", "--verbose", help="A line per evaluator call; tracebacks on errors.")
    ] = False,
    offline: Annotated[
        bool, typer.Option("--offline", help="Use the built-in simulated model for every evaluator.")
    ] = False,
    allow_insecure_http: AllowInsecureHttp = False,
    trust_config: TrustConfig = False,
    strict: Annotated[
        bool, typer.Option("--strict", help="Unknown keys in the evaluator config are errors, not warnings.")
    ] = False,
) -> int:
    """Score a finished debate with evaluator agents, or compare two debates' final solutions."""
    from dialectic.evaluation import output as formats
    from dialectic.runner import evaluation as run
    from dialectic.runner import inputs

    if (debate_file is None) == (compare is None):
        raise InputError("give exactly one of --debate FILE (score it) or --compare A.json B.json")
    console = _stderr()
    _warn(console, inputs.load_env_file(env_file))
    _check_outputs(None, output)
    times = run.parse_repeats(repeats)

    def show(event: dict[str, object]) -> None:
        line = run.describe_event(event, verbose=verbose)
        if line:
            _plain(console, line)

    if compare is not None:
        from dialectic.evaluation.compare import render_comparison

        comparison = run.compare_debates(
            Path(config),
            Path(compare[0]),
            Path(compare[1]),
            repeats=times,
            offline=offline,
            strict=strict,
            on_event=show,
            allow_insecure_http=allow_insecure_http,
            trust_config=trust_config,
        )
        rendered = render_comparison(comparison)
    else:
        assert debate_file is not None
        table = run.score_debate(
            Path(config),
            Path(debate_file),
            repeats=times,
            offline=offline,
            strict=strict,
            on_event=show,
            allow_insecure_http=allow_insecure_http,
            trust_config=trust_config,
        )
        rendered = formats.render_scores(table)
    delivery = formats.deliver(rendered, output)
    for warning in delivery.warnings:
        _plain(console, f"warning: {warning}")
    if delivery.stdout is not None:
        sys.stdout.write(delivery.stdout)
    if delivery.notice:
        _plain(console, delivery.notice)
    return 0


def _plain(console: Console, line: str) -> None:
    """A stderr line whose text is data ("[eval-1] …" is not markup); "warning:" in yellow."""
    from dialectic.report.inert import terminal_line

    console.print(terminal_line(line))


@app.command(
    "graph",
    epilog="Examples:  dialectic graph --format mermaid -o debate.mmd  |  dialectic graph --clarify --steer",
)
def graph_command(
    fmt: Annotated[str, typer.Option("--format", "-f", help="mermaid, ascii or png.")] = "mermaid",
    output: Annotated[
        str | None, typer.Option("-o", "--output", help="Write the drawing here instead of stdout.")
    ] = None,
    config: Annotated[
        str | None, typer.Option("-c", "--config", help="Config whose options shape the graph.")
    ] = None,
    clarify: Annotated[bool, typer.Option("--clarify", help="With the clarification phase.")] = False,
    steer: Annotated[bool, typer.Option("--steer", help="With the pauses for steering notes.")] = False,
    trust_config: TrustConfig = False,
) -> int:
    """Draw the compiled debate graph, extensions included (mermaid and ascii need no network)."""
    if fmt not in ("mermaid", "ascii", "png"):
        raise InputError(f"--format must be mermaid, ascii or png (got {fmt!r})")
    _check_outputs(None, output)
    from dataclasses import replace

    from dialectic.graphs.debate import GraphOptions, drawing, options_for

    options = GraphOptions()
    if config:  # the config shapes the graph: its extensions are imported and drawn where they run
        from dialectic.runner.inputs import prepare_settings

        settings, notices = prepare_settings(
            config, roles=None, rounds=None, offline=True, trust_config=trust_config
        )
        _warn(_stderr(), notices)
        options = options_for(settings)
    options = replace(options, clarify=options.clarify or clarify, steer=options.steer or steer)
    drawable = drawing(options)
    if fmt == "png":
        if not output:
            raise InputError("--format png needs -o PATH")
        try:
            data = drawable.draw_mermaid_png()
        except Exception as exc:
            raise InputError(
                f"png drawing needs the mermaid.ink web service, which failed ({type(exc).__name__}); use --format mermaid"
            ) from exc
        Path(output).write_bytes(data)
        return 0
    text = drawable.draw_mermaid() if fmt == "mermaid" else drawable.draw_ascii()
    if output:
        Path(output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return 0


@app.command(
    "serve",
    epilog=(
        "Examples:  dialectic serve --offline  |  dialectic serve --port 0 --db debates/dialectic.sqlite  |  "
        "dialectic serve --host 0.0.0.0 --token SECRET"
    ),
)
def serve_command(
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on; any but loopback needs a token.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port (0: any free port, printed).")] = 8000,
    db: Db = None,
    config: Annotated[
        str | None,
        typer.Option(
            "-c", "--config", help="Config of new debates. Default: ./debate-config.json, else built-in."
        ),
    ] = None,
    offline: Annotated[
        bool, typer.Option("--offline", help="Debates use the built-in simulated model: no key, no network.")
    ] = False,
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            help="Token every request must carry (generated when --host is not loopback). Env: DIALECTIC_TOKEN.",
        ),
    ] = None,
    env_file: EnvFile = None,
    trust_config: TrustConfig = False,
) -> int:
    """Serve the web page: start, watch, steer, stop, resume and read debates in a browser."""
    import os

    try:
        from dialectic.web.serve import serve
    except ImportError as exc:
        if exc.name not in ("fastapi", "uvicorn", "starlette"):
            raise  # a bug in dialectic.web, not a missing extra
        from dialectic.errors import ConfigError

        raise ConfigError(
            f"dialectic serve needs the web extra ({exc.name} is missing): pip install 'dialectic-debate[web]'"
        ) from exc
    from dialectic.runner import inputs
    from dialectic.web.forms import ServerOptions

    console = _stderr()
    _warn(console, inputs.load_env_file(env_file))
    if config is not None:  # checked now, not at the first debate
        checked = inputs.prepare_settings(
            config, roles=None, rounds=None, offline=True, trust_config=trust_config
        )
        _warn(console, checked[1])
    options = ServerOptions(db=db, config=config, offline=offline, trust_config=trust_config)
    serve(
        options,
        host=host,
        port=port,
        token=token or os.environ.get("DIALECTIC_TOKEN") or None,
        say=lambda line: _plain(console, line),
    )
    return 0


@app.command(
    "feedback",
    epilog="Examples:  dialectic feedback deb-20250101-120000-ab12 up  |  dialectic feedback deb-1 down",
)
def feedback_command(
    debate_id: DebateId,
    verdict: Annotated[str, typer.Argument(help="up or down.", show_default=False)],
) -> int:
    """Save your thumbs up or down on a debate (userFeedback 1 or -1 in its JSON)."""
    from dialectic.runner.feedback import parse_verdict, set_feedback

    value = parse_verdict(verdict)
    path = set_feedback(debate_id, value)
    _plain(_stderr(), f"feedback {'up' if value == 1 else 'down'} saved in {path}")
    return 0


@app.command(
    "batch",
    epilog=(
        "Examples:  dialectic batch sweep.yaml --offline  |  dialectic batch sweep.yaml --parallel 8 --max-cost 20  |  "
        "dialectic batch sweep.yaml --ray auto --db postgresql://…"
    ),
)
def batch_command(
    sweep_file: Annotated[
        str, typer.Argument(help="The sweep (YAML or JSON): problems, arms, repeats, evaluator.")
    ],
    parallel: Annotated[
        int, typer.Option("--parallel", "-j", min=1, max=256, help="Debates at once (local).")
    ] = 4,
    db: Db = None,
    offline: Annotated[
        bool, typer.Option("--offline", help="Every debate, baseline and evaluator on the simulated model.")
    ] = False,
    max_cost: Annotated[
        float | None,
        typer.Option("--max-cost", help="Budget of the whole batch in USD: no job starts past it."),
    ] = None,
    out: Annotated[
        str | None,
        typer.Option("--out", help="Results folder (default: <sweep name>-results beside the sweep file)."),
    ] = None,
    ray: Annotated[
        bool,
        typer.Option(
            "--ray",
            help="--ray [ADDRESS]: the debates as Ray tasks on a cluster (ray://host:10001, auto; default: RAY_ADDRESS, else a local cluster); "
            "needs a PostgreSQL --db.",
        ),
    ] = False,
    ray_address: Annotated[
        str | None, typer.Argument(help="With --ray: the cluster's address.", show_default=False)
    ] = None,
    env_file: EnvFile = None,
    verbose: Verbose = False,
    trust_config: TrustConfig = False,
) -> int:
    """Run a sweep of debates (problems × arms × repeats) with a compute-matched baseline; score, compare, plot."""
    from dialectic.batch.cli import run_batch, split_ray_address
    from dialectic.runner import inputs

    sweep_file, ray_at = split_ray_address(sweep_file, ray_address, ray)
    console = _stderr()
    _warn(console, inputs.load_env_file(env_file))
    return run_batch(
        console,
        Path(sweep_file),
        db=db,
        parallel=parallel,
        offline=offline,
        max_cost=max_cost,
        out=out,
        ray=ray_at,
        verbose=verbose,
        trust_config=trust_config,
    )


def main() -> None:
    """Console entry point: every error is one line on stderr and the exit code of spec §1.6."""
    verbose = any(arg in ("-v", "--verbose") for arg in sys.argv[1:])
    if len(sys.argv) == 1:
        sys.argv.append("--help")  # help on stdout, exit 0 (not a usage error)
    process.exit_without_collecting()
    try:
        code = app(standalone_mode=False)
    except typer.TyperException as exc:  # usage errors of the parser: unknown option, missing value
        ctx = getattr(exc, "ctx", None)
        hint = f" (see: {ctx.command_path} --help)" if ctx is not None else " (see: dialectic --help)"
        print(f"error: {exc.format_message()}{hint}", file=sys.stderr)
        sys.exit(ExitCode.INPUT)
    except (typer.Abort, KeyboardInterrupt):
        print("interrupted", file=sys.stderr)
        sys.exit(ExitCode.INTERRUPTED)
    except DialecticError as exc:
        if verbose:
            import traceback

            traceback.print_exc()
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except Exception as exc:
        import traceback

        if verbose:
            traceback.print_exc()
        where = traceback.extract_tb(exc.__traceback__)[-1]
        print(
            f"internal error (a bug): {type(exc).__name__}: {exc} at {Path(where.filename).name}:{where.lineno}; "
            "any debate state is kept in the checkpoint store (rerun with -v for the traceback)",
            file=sys.stderr,
        )
        sys.exit(ExitCode.BUG)
    finally:
        process.ended()
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
