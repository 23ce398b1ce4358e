"""Shared fixtures. Every test runs in its own temporary folder with no API keys and no tracing,
and the OpenAI base URL points at a closed loopback port, so nothing can leave the machine."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

# Files written by or for the TypeScript dialectic (MIT); see typescript/README.md there.
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "typescript"
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


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in _SCRUBBED:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("OPENROUTER_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("LANGGRAPH_STRICT_MSGPACK", "true")
    monkeypatch.setenv("DIALECTIC_RETRY_BASE_SECONDS", "0.01")
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


@pytest.fixture
def cli(isolated: Path) -> Callable[..., CliResult]:
    """Run the installed ``dialectic`` command in the test's folder."""

    def run(
        *args: str, env: dict[str, str] | None = None, input: str | None = None, timeout: float = 120
    ) -> CliResult:
        full_env = dict(os.environ)
        full_env.update(env or {})
        full_env["COLUMNS"] = "200"
        done = subprocess.run(
            [_dialectic_executable(), *args],
            cwd=isolated,
            env=full_env,
            # without input, an empty standard input (never the test runner's: it would be piped answers)
            input="" if input is None else input,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        return CliResult(done.returncode, done.stdout, done.stderr)

    return run


EVAL_SAVED_DEBATE = "saved-debate-2-agents-2-rounds.json"


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
