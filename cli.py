"""The ``dialectic`` command: parse, load settings, call the library, print.

stdout carries only the product (solution, report, drawing, JSON); progress, warnings and errors
go to stderr. LangGraph and LangChain are imported inside commands, never at start-up.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from dialectic.errors import DialecticError, InputError

if TYPE_CHECKING:
    from rich.console import Console

    from dialectic.runner.run import DebateResult

app = typer.Typer(
    name="dialectic",
    help="Multi-agent software-design debates: agents propose, critique and refine; a judge synthesizes.",
    add_completion=False,
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
ReportPath = Annotated[str | None, typer.Option("--report", help="Also write the Markdown report here.")]
EnvFile = Annotated[
    str | None, typer.Option("-e", "--env-file", help="dotenv file (default: ./.env if present).")
]


def _stderr() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


def _warn(console: Console, lines: list[str]) -> None:
    for line in lines:
        console.print(f"[yellow]warning:[/] {line}" if not line.startswith("no ") else line)


@app.command(
    epilog=(
        'Examples:  dialectic debate --offline "Design a rate limiter for a public API"  |  '
        "dialectic debate -p problem.md -c debate-config.json -r 2 -o result.json --report report.md"
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
) -> int:
    """Run a debate on a design problem and print the final solution."""
    from dialectic.graphs.store import new_debate_id, validate_debate_id
    from dialectic.runner import inputs
    from dialectic.runner.run import start_debate

    console = _stderr()
    inputs.load_env_file(env_file)
    text = inputs.read_problem(problem, problem_file)
    settings, notices = inputs.prepare_settings(
        config, roles=inputs.parse_roles(agents), rounds=inputs.parse_rounds(rounds), offline=offline
    )
    _warn(console, notices)
    inputs.check_keys(settings)
    chosen = validate_debate_id(debate_id) if debate_id else new_debate_id()
    return _run(
        console,
        chosen,
        lambda on_event: start_debate(text, settings, debate_id=chosen, db=db, on_event=on_event),
        output=output,
        report=report,
        verbose=verbose,
    )


def _run(
    console: Console,
    debate_id: str,
    start: Callable[[Callable[[dict[str, Any]], None]], DebateResult],
    *,
    output: str | None,
    report: str | None,
    verbose: bool,
) -> int:
    """Run with progress and Ctrl-C handling, then write the products and the closing lines."""
    from dialectic.graphs.store import debate_json_path
    from dialectic.runner.interrupts import graceful_interrupts
    from dialectic.runner.progress import Progress
    from dialectic.transcript.files import mark_status

    progress = Progress(console, verbose=verbose)

    def abort() -> None:
        progress.close()
        mark_status(debate_json_path(debate_id), "interrupted")
        console.print(f"stopped. resume with: dialectic resume {debate_id}")

    try:
        with graceful_interrupts(console.print, abort):
            result = start(progress)
    finally:
        progress.close()
    if verbose:
        progress.breakdown(result.record)
    return _finish(console, result, output=output, report=report, verbose=verbose)


def _finish(
    console: Console, result: DebateResult, *, output: str | None, report: str | None, verbose: bool
) -> int:
    """Write the products, then the closing stderr lines (id, JSON path, how to resume)."""
    if result.solution is not None:
        _write_output(result, output)
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
    if result.exit_code != 0:
        if result.message and result.status != "interrupted":
            console.print(f"[red]error:[/] {result.message}")
        console.print(f"resume with: dialectic resume {result.debate_id}")
    return result.exit_code


def _write_output(result: DebateResult, output: str | None) -> None:
    if output is None:
        sys.stdout.write(result.solution or "")
        if result.solution and not result.solution.endswith("\n"):
            sys.stdout.write("\n")
        return
    from dialectic.transcript.files import write_atomic, write_record

    path = Path(output)
    if path.suffix.lower() == ".json":
        write_record(path, result.record)
    else:
        write_atomic(path, result.solution or "")


def _write_report(console: Console, result: DebateResult, target: str, verbose: bool) -> None:
    from dialectic.report.markdown import render_report
    from dialectic.transcript.files import write_atomic

    path = Path(target) if target.lower().endswith(".md") else Path(target + ".md")
    try:
        write_atomic(path, render_report(result.record, verbose=verbose))
    except OSError as exc:
        console.print(
            f"[yellow]warning:[/] could not write the report to {path.resolve()}: {exc.strerror or exc}"
        )
    else:
        console.print(f"report written to {path}")


@app.command(epilog="Example:  dialectic resume deb-20250101-120000-ab12 --report report.md")
def resume(
    debate_id: Annotated[str, typer.Argument(help="The id of the debate to continue.", show_default=False)],
    output: Output = None,
    report: ReportPath = None,
    env_file: EnvFile = None,
    verbose: Verbose = False,
    db: Db = None,
) -> int:
    """Continue a debate from its last checkpoint, with the settings it started with."""
    from dialectic.graphs.store import validate_debate_id
    from dialectic.runner import inputs
    from dialectic.runner.run import resume_debate

    inputs.load_env_file(env_file)
    validate_debate_id(debate_id)
    return _run(
        _stderr(),
        debate_id,
        lambda on_event: resume_debate(debate_id, db=db, on_event=on_event),
        output=output,
        report=report,
        verbose=verbose,
    )


@app.command("list", epilog="Example:  dialectic list --json")
def list_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    db: Db = None,
) -> int:
    """List the debates in the checkpoint store, newest first."""
    import json
    from dataclasses import asdict

    from dialectic.runner.catalog import list_debates

    rows = list_debates(db)
    if as_json:
        sys.stdout.write(json.dumps([asdict(row) for row in rows], indent=2) + "\n")
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(show_edge=False, box=None, pad_edge=False)
    for column in ("id", "status", "rounds", "created", "problem"):
        table.add_column(column, no_wrap=column != "problem")
    for row in rows:
        table.add_row(
            row.id,
            row.status,
            f"{row.rounds_done}/{row.max_rounds}",
            row.created_at[:19].replace("T", " "),
            row.problem,
        )
    if rows:
        Console(soft_wrap=True).print(table)
    else:
        _stderr().print("no debates in this store yet")
    return 0


@app.command(epilog="Example:  dialectic show deb-20250101-120000-ab12 --history")
def show(
    debate_id: Annotated[str, typer.Argument(help="The id of the debate.", show_default=False)],
    history: Annotated[
        bool, typer.Option("--history", help="Also list its checkpoints (fork points).")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")] = False,
    db: Db = None,
) -> int:
    """Where a debate stands: status, where it stopped, pending questions, usage so far."""
    import json

    from dialectic.runner.catalog import show_debate

    detail = show_debate(db, debate_id, history=history)
    if as_json:
        sys.stdout.write(json.dumps(detail.as_dict(), indent=2, default=str) + "\n")
        return 0
    lines = [
        f"debate {detail.id}: {detail.status}" + (f" (forked from {detail.parent})" if detail.parent else ""),
        f"round {detail.round} of {detail.max_rounds}"
        + (f"; next: {', '.join(detail.next)}" if detail.next else ""),
    ]
    if detail.running_by:
        lines.append(f"running: {detail.running_by}")
    if detail.done or detail.pending_calls:
        lines.append(
            f"this step: done {', '.join(detail.done) or 'none'}; {detail.pending_calls} call(s) to make"
        )
    for item in detail.pending:
        lines.append(f"waiting: {json.dumps(item, default=str)}")
    for failure in detail.failures:
        lines.append(
            f"failed: {failure['agent']} in {failure['phase']} of round {failure['round']}: {failure['error']}"
        )
    usage = detail.usage
    lines.append(
        f"usage: {usage['calls']} calls, {usage['inputTokens']:,} input + {usage['outputTokens']:,} output tokens"
    )
    if detail.final_confidence is not None:
        lines.append(f"final solution: confidence {detail.final_confidence:g}/100")
    if history:
        lines.append("checkpoints (oldest first; fork with: dialectic fork ID --at CHECKPOINT):")
        for row in detail.checkpoints:
            lines.append(
                f"  {row['checkpoint']}  step {row['step']:>3}  round {row['round']}  after {row['node'] or '-'}"
            )
    sys.stdout.write("\n".join(lines) + "\n")
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
) -> int:
    """Start a new debate from a past checkpoint of another; the original stays untouched."""
    from dialectic.graphs.store import new_debate_id, validate_debate_id
    from dialectic.runner import inputs
    from dialectic.runner.run import fork_debate

    inputs.load_env_file(env_file)
    validate_debate_id(debate_id)
    chosen = validate_debate_id(new_id) if new_id else new_debate_id()
    change = inputs.fork_settings(config, rounds=inputs.parse_rounds(rounds), offline=offline)
    return _run(
        _stderr(),
        chosen,
        lambda on_event: fork_debate(debate_id, at, new_id=chosen, settings=change, db=db, on_event=on_event),
        output=output,
        report=report,
        verbose=verbose,
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


def _debate_path(reference: str) -> Path:
    path = Path(reference)
    if path.exists() or reference.endswith(".json") or "/" in reference:
        return path
    from dialectic.graphs.store import debate_json_path

    candidate = debate_json_path(reference)
    if not candidate.exists():
        raise InputError(
            f"no debate file {reference!r} and no debate with that id in {candidate.parent.resolve()}"
        )
    return candidate


@app.command("graph", epilog="Example:  dialectic graph --format mermaid -o debate.mmd")
def graph_command(
    fmt: Annotated[str, typer.Option("--format", "-f", help="mermaid, ascii or png.")] = "mermaid",
    output: Annotated[
        str | None, typer.Option("-o", "--output", help="Write the drawing here instead of stdout.")
    ] = None,
    config: Annotated[
        str | None, typer.Option("-c", "--config", help="Config whose options shape the graph.")
    ] = None,
) -> int:
    """Draw the compiled debate graph, extensions included (mermaid and ascii need no network)."""
    if fmt not in ("mermaid", "ascii", "png"):
        raise InputError(f"--format must be mermaid, ascii or png (got {fmt!r})")
    from dialectic.graphs.debate import GraphOptions, build_graph, options_for

    options = GraphOptions()
    if config:  # the config shapes the graph: its extensions are imported and drawn where they run
        from dialectic.runner.inputs import prepare_settings

        settings, notices = prepare_settings(config, roles=None, rounds=None, offline=True)
        _warn(_stderr(), notices)
        options = options_for(settings)
    drawable = build_graph(options).compile().get_graph()
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


def main() -> None:
    """Console entry point: every error is one line on stderr and the exit code of spec §1.6."""
    verbose = any(arg in ("-v", "--verbose") for arg in sys.argv[1:])
    try:
        code = app(standalone_mode=False)
    except typer.TyperException as exc:  # usage errors of the parser: unknown option, missing value
        ctx = getattr(exc, "ctx", None)
        hint = f" (see: {ctx.command_path} --help)" if ctx is not None else " (see: dialectic --help)"
        print(f"error: {exc.format_message()}{hint}", file=sys.stderr)
        sys.exit(2)
    except (typer.Abort, KeyboardInterrupt):
        print("interrupted", file=sys.stderr)
        sys.exit(130)
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
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
