"""The ``dialectic`` command: parse, load settings, call the library, print.

stdout carries only the product (solution, report, drawing, JSON); progress, warnings and errors
go to stderr. LangGraph and LangChain are imported inside commands, never at start-up.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

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
    output: Annotated[
        str | None,
        typer.Option("-o", "--output", help="*.json: the full debate JSON; otherwise: the solution text."),
    ] = None,
    report: Annotated[
        str | None, typer.Option("--report", help="Also write the Markdown report here.")
    ] = None,
    env_file: Annotated[
        str | None, typer.Option("-e", "--env-file", help="dotenv file (default: ./.env if present).")
    ] = None,
    verbose: Verbose = False,
    offline: Annotated[
        bool, typer.Option("--offline", help="Use the built-in simulated model: no key, no network.")
    ] = False,
    debate_id: Annotated[
        str | None, typer.Option("--id", help="Debate id (default deb-YYYYMMDD-HHMMSS-xxxx).")
    ] = None,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            help="Checkpoint store: SQLite path (default ./debates/dialectic.sqlite). Env: DIALECTIC_DB.",
        ),
    ] = None,
) -> int:
    """Run a debate on a design problem and print the final solution."""
    from dialectic.runner import inputs

    console = _stderr()
    inputs.load_env_file(env_file)
    text = inputs.read_problem(problem, problem_file)
    settings, notices = inputs.prepare_settings(
        config, roles=inputs.parse_roles(agents), rounds=inputs.parse_rounds(rounds), offline=offline
    )
    _warn(console, notices)
    inputs.check_keys(settings)
    from dialectic.runner.progress import Progress
    from dialectic.runner.run import start_debate

    progress = Progress(
        console, agents=[a.id for a in settings.agents], rounds=settings.config.debate.rounds, verbose=verbose
    )
    try:
        result = start_debate(text, settings, debate_id=debate_id, db=db, on_event=progress)
    finally:
        progress.close()
    return _finish(console, result, progress=progress, output=output, report=report, verbose=verbose)


def _finish(
    console: Console,
    result: DebateResult,
    *,
    progress: object,
    output: str | None,
    report: str | None,
    verbose: bool,
) -> int:
    """Write the products, then the closing stderr lines (id, JSON path, how to resume)."""
    from dialectic.runner.progress import Progress

    if verbose and isinstance(progress, Progress):
        progress.breakdown(result.record)
    if result.solution is not None:
        _write_output(result, output)
    if report:
        _write_report(console, result, report, verbose)
    if result.status == "degraded":
        console.print(
            f"[yellow]warning:[/] the debate finished degraded: {len(result.record.failures or [])} call(s) failed (see the report's Failures section)"
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
) -> int:
    """Score a finished debate with evaluator agents, or compare two debates' final solutions."""
    from dialectic.evaluation import output as formats
    from dialectic.evaluation import run
    from dialectic.runner import inputs

    if (debate_file is None) == (compare is None):
        raise InputError("give exactly one of --debate FILE (score it) or --compare A.json B.json")
    console = _stderr()
    inputs.load_env_file(env_file)
    times = run.parse_repeats(repeats)

    def show(event: dict[str, object]) -> None:
        line = run.describe_event(event, verbose=verbose)
        if line:
            _plain(console, line)

    if compare is not None:
        from dialectic.evaluation.compare import render_comparison

        comparison = run.compare_debates(
            Path(config), Path(compare[0]), Path(compare[1]), repeats=times, offline=offline, on_event=show
        )
        rendered = render_comparison(comparison)
    else:
        assert debate_file is not None
        table = run.score_debate(
            Path(config), Path(debate_file), repeats=times, offline=offline, on_event=show
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
    from rich.text import Text

    text = Text(line)
    if line.startswith("warning:"):
        text.stylize("yellow", 0, len("warning:"))
    console.print(text)


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
    """Draw the compiled debate graph (mermaid and ascii need no network)."""
    if fmt not in ("mermaid", "ascii", "png"):
        raise InputError(f"--format must be mermaid, ascii or png (got {fmt!r})")
    if config:
        from dialectic.configs.loader import load_config

        load_config(Path(config))
    from dialectic.graphs.debate import build_graph

    drawable = build_graph().compile().get_graph()
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
