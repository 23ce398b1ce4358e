"""The bad-input table: every input a careless or hostile user might give, and what must happen.

Each case must be *handled cleanly*: the exit code of spec §1.6, exactly one ``error:`` line on
stderr that names the problem, no traceback, no LLM call, and no store or debate file created.
Under pytest each case runs in-process (the same ``main()`` the installed command runs: the
table is long and a process start costs ~2 s); run this file as a script to run every case
through the installed ``dialectic`` command and print the table with its total:

    python tests/cli/test_bad_input_table.py
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path

import pytest

OFFLINE_AGENT = {"id": "a1", "name": "A", "role": "architect", "model": "m", "provider": "offline"}
SECOND_AGENT = {**OFFLINE_AGENT, "id": "a2", "role": "security"}
JUDGE = {"id": "j", "name": "J", "role": "generalist", "model": "m", "provider": "offline"}
PROBLEM = "Design a cache. It must serve 100 reads per second."


def config(*agents: dict[str, object], judge: dict[str, object] = JUDGE, **debate: object) -> str:
    document: dict[str, object] = {"agents": list(agents), "judge": judge}
    if debate:
        document["debate"] = debate
    return json.dumps(document)


def openai_agent(**fields: object) -> dict[str, object]:
    return {**OFFLINE_AGENT, "provider": "openai", "model": "gpt-4o-mini", **fields}


GOOD = config(OFFLINE_AGENT, SECOND_AGENT)


@dataclass(frozen=True)
class Case:
    name: str
    args: tuple[str, ...]
    code: int
    says: str  # the error line contains this (case-insensitive)
    files: dict[str, str | bytes] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)  # link -> target
    env: dict[str, str] = field(default_factory=dict)


def debate(*args: str) -> tuple[str, ...]:
    return ("debate", "--offline", *args)


CASES = [
    # --- the problem
    Case("no problem", debate(), 2, "no problem"),
    Case("inline and file", debate(PROBLEM, "-p", "p.md"), 2, "not both", {"p.md": PROBLEM}),
    Case("blank inline problem", debate("   "), 2, "empty"),
    Case("problem file missing", debate("-p", "nope.md"), 2, "not found"),
    Case("problem file is a folder", debate("-p", "d"), 2, "directory", {"d/x": ""}),
    Case("problem file not UTF-8", debate("-p", "p.md"), 2, "UTF-8", {"p.md": b"\xff\xfe\x00bad"}),
    Case("problem file empty", debate("-p", "p.md"), 2, "empty", {"p.md": "\n  \n"}),
    Case("problem from /dev/zero", debate("-p", "/dev/zero"), 2, "/dev/zero"),
    Case("problem of 300 KB", debate("-p", "p.md"), 2, "KB", {"p.md": "x" * 300_000}),
    # --- numbers
    Case("zero rounds", debate("-r", "0", PROBLEM), 2, "--rounds"),
    Case("rounds not a number", debate("-r", "two", PROBLEM), 2, "--rounds"),
    Case("too many rounds", debate("-r", "1000", PROBLEM), 2, "--rounds"),
    Case("zero timeout", debate("--timeout", "0", PROBLEM), 2, "--timeout"),
    Case("timeout nan", debate("--timeout", "nan", PROBLEM), 2, "--timeout"),
    Case("timeout inf", debate("--timeout", "inf", PROBLEM), 2, "--timeout"),
    Case("timeout not a number", debate("--timeout", "soon", PROBLEM), 2, "--timeout"),
    Case("max cost nan", debate("--max-cost", "nan", PROBLEM), 2, "--max-cost"),
    Case("max cost inf", debate("--max-cost", "inf", PROBLEM), 2, "--max-cost"),
    Case("max cost negative", debate("--max-cost", "-1", PROBLEM), 2, "--max-cost"),
    Case("max concurrency 0", debate("--max-concurrency", "0", PROBLEM), 2, "--max-concurrency"),
    Case("max concurrency huge", debate("--max-concurrency", "100000", PROBLEM), 2, "--max-concurrency"),
    Case("max tokens 0", debate("--max-tokens", "0", PROBLEM), 2, "--max-tokens"),
    # --- ids and names
    Case("id with a path", debate("--id", "../x", PROBLEM), 2, "invalid debate id"),
    Case("id with a space", debate("--id", "a b", PROBLEM), 2, "invalid debate id"),
    Case("id too long", debate("--id", "a" * 300, PROBLEM), 2, "invalid debate id"),
    Case("empty agents list", debate("--agents", ",", PROBLEM), 2, "--agents"),
    Case("unknown option", debate("--roundz", "2", PROBLEM), 2, "--roundz"),
    # --- env files
    Case("env file missing", debate("-e", "nope.env", PROBLEM), 2, "nope.env"),
    Case("env file is a folder", debate("-e", "d", PROBLEM), 2, "is a directory", {"d/x": ""}),
    Case("env file not UTF-8", debate("-e", "x.env", PROBLEM), 2, "x.env", {"x.env": b"K=\xff\xfe\n"}),
    Case("implicit .env not UTF-8", debate(PROBLEM), 2, ".env", {".env": b"K=\xff\xfe\n"}),
    # --- answers and context
    Case(
        "answers without --clarify", debate("--answers", "a.json", PROBLEM), 2, "--clarify", {"a.json": "{}"}
    ),
    Case("answers file missing", debate("--clarify", "--answers", "a.json", PROBLEM), 2, "a.json"),
    Case(
        "answers not JSON", debate("--clarify", "--answers", "a.json", PROBLEM), 2, "a.json", {"a.json": "{"}
    ),
    Case("context folder missing", debate("--context", "nowhere", PROBLEM), 2, "nowhere"),
    Case("context is a file", debate("--context", "f.txt", PROBLEM), 2, "f.txt", {"f.txt": "x"}),
    # --- output paths, checked before any call
    Case("-o is a folder", debate("-o", "out", PROBLEM), 2, "out", {"out/x": ""}),
    Case("-o is the store", debate("-o", "debates/dialectic.sqlite", PROBLEM), 2, "store"),
    Case("-o under a file", debate("-o", "f.txt/out.json", PROBLEM), 2, "f.txt", {"f.txt": "x"}),
    Case("--report is a folder", debate("--report", "out", PROBLEM), 2, "out", {"out/x": ""}),
    Case(
        "-o through a symlink", debate("-o", "link.json", PROBLEM), 2, "link", links={"link.json": "t.json"}
    ),
    Case("graph -o is a folder", ("graph", "-o", "out"), 2, "out", {"out/x": ""}),
    Case("graph unknown format", ("graph", "--format", "svgz"), 2, "svgz"),
    # --- saved debates and stores
    Case("report of a missing file", ("report", "--debate", "nope.json"), 2, "nope.json"),
    Case("report of a non-JSON file", ("report", "--debate", "x.json"), 2, "x.json", {"x.json": "not json"}),
    Case(
        "report -o is a folder",
        ("report", "--debate", "x.json", "-o", "out"),
        2,
        "out",
        {"x.json": "{}", "out/x": ""},
    ),
    Case("show an unknown debate", ("show", "nope"), 2, "nope"),
    Case("resume an unknown debate", ("resume", "nope"), 2, "nope"),
    Case("list a store that is not there", ("list", "--db", "typo/x.sqlite"), 2, "typo"),
    Case("store is a folder", debate("--db", "d", PROBLEM), 2, "d", {"d/x": ""}),
    Case(
        "store is not SQLite",
        ("list", "--db", "x.sqlite"),
        2,
        "x.sqlite",
        {"x.sqlite": "hello, not a database" * 50},
    ),
    # --- config files
    Case("config missing", debate("-c", "nope.json", PROBLEM), 4, "nope.json"),
    Case("config is a folder", debate("-c", "d", PROBLEM), 4, "directory", {"d/x": ""}),
    Case("config invalid JSON", debate("-c", "c.json", PROBLEM), 4, "line 1", {"c.json": "{"}),
    Case("config invalid YAML", debate("-c", "c.yaml", PROBLEM), 4, "YAML", {"c.yaml": "agents: [\n"}),
    Case("config top level a list", debate("-c", "c.json", PROBLEM), 4, "top level", {"c.json": "[]"}),
    Case("config no agents", debate("-c", "c.json", PROBLEM), 4, "agents", {"c.json": config()}),
    Case(
        "config all agents disabled",
        debate("-c", "c.json", PROBLEM),
        4,
        "c.json",
        {"c.json": config({**OFFLINE_AGENT, "enabled": False})},
    ),
    Case(
        "config duplicate ids",
        debate("-c", "c.json", PROBLEM),
        4,
        "a1",
        {"c.json": config(OFFLINE_AGENT, OFFLINE_AGENT)},
    ),
    Case(
        "config unknown provider",
        debate("-c", "c.json", PROBLEM),
        4,
        "provider",
        {"c.json": config({**OFFLINE_AGENT, "provider": "skynet"})},
    ),
    Case(
        "config temperature not a number",
        debate("-c", "c.json", PROBLEM),
        4,
        "temperature",
        {"c.json": config({**OFFLINE_AGENT, "temperature": "hot"})},
    ),
    Case(
        "config temperature NaN",
        debate("-c", "c.json", PROBLEM),
        4,
        "temperature",
        {"c.json": GOOD.replace('"provider": "offline"}', '"provider": "offline", "temperature": NaN}', 1)},
    ),
    Case(
        "config timeout Infinity",
        debate("-c", "c.json", PROBLEM),
        4,
        "timeoutSeconds",
        {
            "c.json": GOOD.replace(
                '"provider": "offline"}', '"provider": "offline", "timeoutSeconds": Infinity}', 1
            )
        },
    ),
    Case(
        "config zero rounds",
        debate("-c", "c.json", PROBLEM),
        4,
        "rounds",
        {"c.json": config(OFFLINE_AGENT, rounds=0)},
    ),
    Case(
        "prompt file outside the config's folder",
        debate("-c", "cfg/c.json", PROBLEM),
        4,
        "systemPromptPath",
        {"secret.md": "s3cret", "cfg/c.json": config({**OFFLINE_AGENT, "systemPromptPath": "../secret.md"})},
    ),
    Case(
        "prompt file absolute",
        debate("-c", "c.json", PROBLEM),
        4,
        "systemPromptPath",
        {"c.json": config({**OFFLINE_AGENT, "systemPromptPath": "/etc/hostname"})},
    ),
    Case(
        "prompt file a symlink out",
        debate("-c", "cfg/c.json", PROBLEM),
        4,
        "systemPromptPath",
        {"secret.md": "s3cret", "cfg/c.json": config({**OFFLINE_AGENT, "systemPromptPath": "p.md"})},
        links={"cfg/p.md": "../secret.md"},
    ),
    # An implicit ./debate-config.json's extensions are skipped with a warning (the run goes on:
    # tests/cli/test_config_trust.py); trusted, they are imported, so a broken one is exit 4.
    Case(
        "implicit config with extensions, trusted",
        ("debate", "--trust-config", PROBLEM),
        4,
        "'evil'",
        {
            "debate-config.json": json.dumps(
                {
                    "agents": [OFFLINE_AGENT],
                    "judge": JUDGE,
                    "extensions": [{"name": "evil", "callable": "evil.py:run", "after": "round"}],
                }
            ),
            "evil.py": "",
        },
    ),
    Case(
        "prompt folder outside the config's folder",
        debate("-c", "cfg/c.json", PROBLEM),
        4,
        "promptsDir",
        {"theirs/system.md": "s3cret", "cfg/c.json": config({**OFFLINE_AGENT, "promptsDir": "../theirs"})},
    ),
    Case(
        "eval prompt file outside the config's folder",
        ("eval", "-c", "cfg/e.json", "-d", "x.json"),
        4,
        "userPromptPath",
        {
            "x.json": "{}",
            "secret.md": "s3cret",
            "cfg/e.json": json.dumps(
                {
                    "agents": [
                        {
                            "id": "e",
                            "name": "E",
                            "model": "m",
                            "provider": "openai",
                            "userPromptPath": "../secret.md",
                        }
                    ]
                }
            ),
        },
    ),
    # --- keys and endpoints (no --offline: the config's providers are used)
    Case(
        "missing key",
        ("debate", "-c", "c.json", PROBLEM),
        4,
        "OPENAI_API_KEY",
        {"c.json": config(openai_agent())},
    ),
    Case(
        "key with a trailing newline",
        ("debate", "-c", "c.json", PROBLEM),
        4,
        "OPENAI_API_KEY",
        {"c.json": config(openai_agent())},
        env={"OPENAI_API_KEY": "sk-test\n"},
    ),
    Case(
        "apiKeyEnv names a non-key variable",
        ("debate", "-c", "c.json", PROBLEM),
        4,
        "apiKeyEnv",
        {"c.json": config(openai_agent(apiKeyEnv="AWS_SECRET_ACCESS_KEY", baseUrl="http://127.0.0.1:9/v1"))},
        env={"AWS_SECRET_ACCESS_KEY": "aws-canary"},
    ),
    Case(
        "plain http to a remote host",
        ("debate", "-c", "c.json", PROBLEM),
        4,
        "--allow-insecure-http",
        {"c.json": config(openai_agent(apiKeyEnv="MY_LLM_API_KEY", baseUrl="http://llm.example.invalid/v1"))},
        env={"MY_LLM_API_KEY": "k"},
    ),
    # --- eval
    Case(
        "eval config missing", ("eval", "-c", "nope.json", "-d", "x.json"), 4, "nope.json", {"x.json": "{}"}
    ),
    Case(
        "eval debate missing",
        ("eval", "-c", "e.json", "-d", "nope.json"),
        2,
        "nope.json",
        {"e.json": json.dumps({"agents": [{"id": "e1", "name": "E", "model": "m", "provider": "offline"}]})},
    ),
    # --- fork
    Case("fork with zero rounds", ("fork", "nope", "--at", "x", "--rounds", "0"), 2, "rounds"),
]


def prepare(folder: Path, case: Case) -> None:
    for name, content in case.files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    for link, target in case.links.items():
        (folder / link).parent.mkdir(parents=True, exist_ok=True)
        (folder / link).symlink_to(target)


@dataclass
class Outcome:
    code: int
    stdout: str
    stderr: str


def problems(case: Case, outcome: Outcome, folder: Path, calls_log: Path) -> list[str]:
    """What is wrong with how ``case`` was handled (empty: handled cleanly)."""
    found = []
    if outcome.code != case.code:
        found.append(f"exit {outcome.code}, not {case.code}")
    if "Traceback" in outcome.stderr or "internal error" in outcome.stderr:
        found.append("a traceback or an internal error")
    errors = [line for line in outcome.stderr.splitlines() if line.startswith("error:")]
    if len(errors) != 1:
        found.append(f"{len(errors)} error lines")
    elif case.says.lower() not in errors[0].lower():
        found.append(f"the error line does not name {case.says!r}")
    if calls_log.exists():
        found.append("an LLM call was made")
    if (folder / "debates").exists() or (folder / "typo").exists():
        found.append("a store or debate file was created")
    return found


@contextmanager
def environment(folder: Path, case: Case) -> Iterator[Path]:
    """The case's environment: no keys, a closed loopback port for OpenAI, a call log."""
    calls_log = folder.parent / f"{folder.name}-calls.jsonl"
    scrubbed = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_BASE_URL"))}
    scrubbed.pop("DIALECTIC_DB", None)
    scrubbed.update(
        OPENAI_BASE_URL="http://127.0.0.1:9/v1",
        DIALECTIC_OFFLINE_CALL_LOG=str(calls_log),
        **case.env,
    )
    saved, cwd = dict(os.environ), Path.cwd()
    os.environ.clear()
    os.environ.update(scrubbed)
    os.chdir(folder)
    try:
        yield calls_log
    finally:
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(saved)


def run_in_process(args: tuple[str, ...]) -> Outcome:
    from dialectic.cli import main

    out, err = io.StringIO(), io.StringIO()
    argv = sys.argv
    sys.argv = ["dialectic", *args]
    code = 0
    try:
        with redirect_stdout(out), redirect_stderr(err):
            main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    finally:
        sys.argv = argv
    return Outcome(code, out.getvalue(), err.getvalue())


def run_installed(args: tuple[str, ...]) -> Outcome:
    executable = Path(sys.executable).parent / "dialectic"
    done = subprocess.run(
        [str(executable if executable.exists() else "dialectic"), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ),
    )
    return Outcome(done.returncode, done.stdout, done.stderr)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_bad_input_is_handled_cleanly(case: Case, tmp_path: Path) -> None:
    folder = tmp_path / "work"
    folder.mkdir()
    prepare(folder, case)
    with environment(folder, case) as calls_log:
        outcome = run_in_process(case.args)
    assert not problems(case, outcome, folder, calls_log), outcome.stderr


def test_every_case_has_its_own_name() -> None:
    assert len({case.name for case in CASES}) == len(CASES)


if __name__ == "__main__":
    clean = 0
    for case in CASES:
        root = Path(tempfile.mkdtemp(prefix="dialectic-bad-input-"))
        folder = root / "work"
        folder.mkdir()
        prepare(folder, case)
        with environment(folder, case) as calls_log:
            outcome = run_installed(case.args)
        wrong = problems(case, outcome, folder, calls_log)
        clean += not wrong
        last = (outcome.stderr.strip().splitlines() or [""])[-1]
        print(
            f"{'ok  ' if not wrong else 'FAIL'} {case.name:<42} exit {outcome.code}  {'; '.join(wrong) or last}"
        )
        shutil.rmtree(root)
    print(f"\nhandled cleanly: {clean} of {len(CASES)}")
    sys.exit(0 if clean == len(CASES) else 1)
