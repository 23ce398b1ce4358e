"""Shared fixtures. Every test runs in its own temporary folder with no API keys and no tracing,
and the OpenAI base URL points at a closed loopback port, so nothing can leave the machine."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

# Files written by or for the TypeScript dialectic (MIT); see typescript/README.md there.
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "typescript"
FORK_SERVER_PATH = Path(__file__).resolve().parent / "cli_fork_server.py"
_FORK_SERVER_MODULE = "dialectic_tests_cli_fork_server"
_SCRUBBED = (
    "OPENAI_API_KEY",
    "OPENROUTER_API_KEY",
    "OPENAI_BASE_URL",
    "OPENROUTER_BASE_URL",
    "DIALECTIC_DB",
    "DIALECTIC_OFFLINE_FAIL",
    "DIALECTIC_OFFLINE_LATENCY_MS",
    "DIALECTIC_OFFLINE_CALL_LOG",
    "LANGSMITH_TRACING",
    "LANGCHAIN_TRACING_V2",
    "LANGSMITH_API_KEY",
    "LANGCHAIN_API_KEY",
    "OLLAMA_HOST",  # the ollama client reads these itself
    "OLLAMA_API_KEY",
    "DIALECTIC_TRUST_CONFIG",  # a user's standing trust must not change what a test sees
)
# What every test's environment sets (the CLI fork server starts with it too).
_TEST_ENV = {
    "OPENAI_BASE_URL": "http://127.0.0.1:9/v1",
    "OPENROUTER_BASE_URL": "http://127.0.0.1:9/v1",
    "LANGGRAPH_STRICT_MSGPACK": "true",  # read when langgraph is imported
    "DIALECTIC_RETRY_BASE_SECONDS": "0.01",
}


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in _SCRUBBED:
        monkeypatch.delenv(name, raising=False)
    for name, value in _TEST_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def fixtures_dir() -> Path:
    return FIXTURES


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str

    def json(self) -> object:
        return json.loads(self.stdout)


def _dialectic_executable() -> str:
    beside = Path(sys.executable).parent / "dialectic"
    found = str(beside) if beside.exists() else shutil.which("dialectic")
    if not found:
        pytest.fail("the dialectic command is not installed in this environment")
    return found


def _load_fork_server() -> ModuleType:
    """tests/cli_fork_server.py, loaded from its path (pytest runs in importlib mode)."""
    module = sys.modules.get(_FORK_SERVER_MODULE)
    if module is None:
        spec = importlib.util.spec_from_file_location(_FORK_SERVER_MODULE, FORK_SERVER_PATH)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[_FORK_SERVER_MODULE] = module  # dataclasses look their module up by name
        spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def fork_server_for(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], Any]]:
    """Starts a fork server (tests/cli_fork_server.py) for a script, in the environment tests run
    in (``isolated``'s, set up after a session fixture): a module reads some variables when it is
    imported, and a command whose value differs from the server's needs a process of its own."""
    started: list[Any] = []

    def start(script: str) -> Any:
        env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED} | _TEST_ENV
        started.append(
            _load_fork_server().ForkServer(script, tmp_path_factory.mktemp("cli-fork-server"), env)
        )
        return started[-1]

    yield start
    for server in started:
        server.close()


@pytest.fixture(scope="session")
def cli_fork_server(fork_server_for: Callable[[str], Any]) -> Any:
    """One fork server per worker for the ``cli`` fixture (None: every command a real process)."""
    if os.environ.get("DIALECTIC_TEST_CLI") == "exec" or not hasattr(socket, "send_fds"):
        return None
    return fork_server_for(_dialectic_executable())


@pytest.fixture
def cli(isolated: Path, cli_fork_server: Any) -> Callable[..., CliResult]:
    """Run the installed ``dialectic`` command in the test's folder (through the fork server:
    tests/cli_fork_server.py says what that changes; DIALECTIC_TEST_CLI=exec to not)."""

    def run(
        *args: str, env: dict[str, str] | None = None, input: str | None = None, timeout: float = 120
    ) -> CliResult:
        full_env = dict(os.environ)
        full_env.update(env or {})
        full_env["COLUMNS"] = "200"
        # without input, an empty standard input (never the test runner's: it would be piped answers)
        text = "" if input is None else input
        if cli_fork_server is not None:
            done = cli_fork_server.run(list(args), isolated, full_env, text, timeout)
            return CliResult(done.code, done.stdout, done.stderr)
        ran = subprocess.run(
            [_dialectic_executable(), *args],
            cwd=isolated,
            env=full_env,
            input=text,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        return CliResult(ran.returncode, ran.stdout, ran.stderr)

    return run


EVAL_SAVED_DEBATE = "saved-debate-2-agents-2-rounds.json"


@pytest.fixture(scope="session")
def new_postgres_database() -> Callable[[str], contextlib.AbstractContextManager[str]]:
    """``with new_postgres_database("prefix") as url``: a fresh database on the server
    DIALECTIC_TEST_POSTGRES names (the caller skips without one), dropped afterwards."""

    @contextlib.contextmanager
    def database(prefix: str) -> Iterator[str]:
        import psycopg

        server = os.environ["DIALECTIC_TEST_POSTGRES"]
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        base, _, _ = server.rpartition("/")
        try:
            yield f"{base}/{name}"
        finally:
            with psycopg.connect(server, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return database


@pytest.fixture
def eval_layout(isolated: Path, fixtures_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The fixture evaluator config example3/eval_config.json with the prompts its relative paths
    name (../eval_*.md), and the debate the TypeScript tool saved, copied into the test's folder.
    Those prompts are outside the config's folder: the user trusts it (DIALECTIC_TRUST_CONFIG=1)."""
    monkeypatch.setenv("DIALECTIC_TRUST_CONFIG", "1")
    shutil.copytree(fixtures_dir / "example3", isolated / "example3")
    for name in ("eval_system.md", "eval_user.md", EVAL_SAVED_DEBATE):
        shutil.copy(fixtures_dir / name, isolated / name)
    return isolated


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Put ``xdist_group`` back into node ids for ``--dist loadgroup``: pytest-xdist 3.8 sets it on
    ``item._nodeid``, which pytest 9.2 no longer reads (pytest-dev/pytest-xdist#1386), so a group
    (the Ray tests' one cluster) would be spread over every worker."""
    if not getattr(config.option, "loadgroup", False):
        return
    from _pytest.nodeid import NodeId

    for item in items:
        markers = item.iter_markers("xdist_group")
        groups = sorted({str(m.args[0] if m.args else m.kwargs.get("name", "default")) for m in markers})
        suffix = "@" + "_".join(groups)
        if groups and not item.nodeid.endswith(suffix):
            item._id = NodeId.parse(item.nodeid + suffix)
