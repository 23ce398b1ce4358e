"""Tracing: LangSmith only through its environment variables, Langfuse's callback when asked for
and available (a warning once otherwise), and never a change in what the debate does."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path
from typing import Any, ClassVar

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langgraph.checkpoint.memory import InMemorySaver

from dialectic.configs.loader import validate_config
from dialectic.configs.settings import RunSettings, resolve_settings
from dialectic.runner import run as run_module
from dialectic.runner.run import DebateRun, utc_now

PROBLEM = "Design a job queue. Jobs must run at least once. It must survive a node crash."


def settings_for(trace: str | None = None) -> RunSettings:
    document: dict[str, Any] = {
        "agents": [
            {"id": "arch", "name": "Arch", "role": "architect", "model": "m", "provider": "offline"},
            {"id": "kiss", "name": "Kiss", "role": "kiss", "model": "m", "provider": "offline"},
        ],
        "debate": {"rounds": 1, "summarization": {"enabled": False}, **({"trace": trace} if trace else {})},
    }
    settings, _ = resolve_settings(validate_config(document, "test"), None, offline=True)
    return settings


def debate(
    settings: RunSettings, events: list[dict[str, Any]] | None = None, debate_id: str = "tr-1"
) -> DebateRun:
    run = DebateRun(
        InMemorySaver(),
        debate_id,
        settings,
        created_at=utc_now(),
        on_event=(events.append if events is not None else None),
    )
    result = run.execute({"problem": PROBLEM})
    assert result.status == "completed", result.message
    return run


@pytest.fixture(autouse=True)
def fresh_state(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Warnings not yet given, no Langfuse keys, and LangSmith's cached reading of the
    environment cleared before and after (it caches what it read once per process)."""
    from langsmith.utils import get_env_var

    monkeypatch.setattr(run_module, "_WARNED", set())
    for name in ("LANGFUSE_PUBLIC_KEY", "LANGFUSE_SECRET_KEY", "LANGFUSE_HOST", "LANGSMITH_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    get_env_var.cache_clear()
    yield
    get_env_var.cache_clear()


@pytest.fixture
def tracer_spy(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records every LangSmith client or tracer created; refuses to build them, so no request
    can leave even when tracing is on (LangChain then carries on untraced)."""
    import langsmith.client
    from langchain_core.tracers.langchain import LangChainTracer

    created: list[str] = []

    def refuse(kind: str) -> Any:
        def init(self: Any, *args: Any, **kwargs: Any) -> None:
            created.append(kind)
            raise RuntimeError(f"test: no {kind} here")

        return init

    monkeypatch.setattr(LangChainTracer, "__init__", refuse("tracer"))
    monkeypatch.setattr(langsmith.client.Client, "__init__", refuse("client"))
    return created


def test_no_tracing_traffic_without_the_langsmith_variables(tracer_spy: list[str]) -> None:
    events: list[dict[str, Any]] = []
    run = debate(settings_for(), events)
    assert tracer_spy == []
    assert run.tracing.callbacks == []
    assert not [e for e in events if e.get("event") == "warning"]


def test_the_langsmith_variables_turn_tracing_on(
    tracer_spy: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from langsmith.utils import get_env_var

    monkeypatch.setenv("LANGSMITH_TRACING", "true")
    monkeypatch.setenv("LANGSMITH_API_KEY", "lsv2-test")
    monkeypatch.setenv("LANGSMITH_ENDPOINT", "http://127.0.0.1:9")
    traced = [c.content for c in debate(settings_for(), debate_id="a").state()["contributions"]]
    assert "tracer" in tracer_spy  # LangChain tried to attach its tracer from the environment
    monkeypatch.delenv("LANGSMITH_TRACING")
    get_env_var.cache_clear()
    tracer_spy.clear()
    assert traced == [c.content for c in debate(settings_for(), debate_id="b").state()["contributions"]]
    assert tracer_spy == []


class Recording(BaseCallbackHandler):
    instances: ClassVar[list[Recording]] = []

    def __init__(self) -> None:
        self.model_calls = 0
        self.flushed = 0
        Recording.instances.append(self)

    def on_chat_model_start(self, serialized: Any, messages: Any, **kwargs: Any) -> None:
        self.model_calls += 1

    def flush(self) -> None:
        self.flushed += 1


class Failing(BaseCallbackHandler):
    """A tracer whose backend is down: every hook raises."""

    def __getattribute__(self, name: str) -> Any:
        if name.startswith("on_"):

            def broken(*args: Any, **kwargs: Any) -> None:
                raise ConnectionError("tracing backend unreachable")

            return broken
        return super().__getattribute__(name)


def fake_langfuse(monkeypatch: pytest.MonkeyPatch, handler: type[BaseCallbackHandler]) -> None:
    package = types.ModuleType("langfuse")
    integration = types.ModuleType("langfuse.langchain")
    integration.CallbackHandler = handler  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "langfuse", package)
    monkeypatch.setitem(sys.modules, "langfuse.langchain", integration)


def test_langfuse_callback_is_attached_with_package_and_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_langfuse(monkeypatch, Recording)
    monkeypatch.setenv("LANGFUSE_PUBLIC_KEY", "pk-lf-test")
    monkeypatch.setenv("LANGFUSE_SECRET_KEY", "sk-lf-test")
    Recording.instances.clear()
    run = debate(settings_for("langfuse"))
    [handler] = Recording.instances
    assert handler.model_calls == len(run.state()["usage"]) == 2 + 2 + 2 + 1  # every LLM call
    assert handler.flushed == 1


@pytest.mark.parametrize(
    ("package", "keys", "expected"),
    [
        (False, True, "the langfuse package is not installed"),
        (True, False, "LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY are not set"),
    ],
)
def test_langfuse_unavailable_warns_once(
    monkeypatch: pytest.MonkeyPatch, package: bool, keys: bool, expected: str
) -> None:
    if package:
        fake_langfuse(monkeypatch, Recording)
    else:
        monkeypatch.setitem(sys.modules, "langfuse", None)  # import fails as if not installed
    if keys:
        monkeypatch.setenv("LANGFUSE_PUBLIC_KEY", "pk")
        monkeypatch.setenv("LANGFUSE_SECRET_KEY", "sk")
    events: list[dict[str, Any]] = []
    debate(settings_for("langfuse"), events, "w-1")
    debate(settings_for("langfuse"), events, "w-2")
    warnings = [e["message"] for e in events if e.get("event") == "warning"]
    assert len(warnings) == 1 and expected in warnings[0]


def test_tracing_never_changes_the_debate(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    log = tmp_path / "calls.jsonl"
    monkeypatch.setenv("DIALECTIC_OFFLINE_CALL_LOG", str(log))
    plain = debate(settings_for(), debate_id="plain")
    plain_calls = len(log.read_text().splitlines())

    fake_langfuse(monkeypatch, Failing)
    monkeypatch.setenv("LANGFUSE_PUBLIC_KEY", "pk")
    monkeypatch.setenv("LANGFUSE_SECRET_KEY", "sk")
    traced = debate(settings_for("langfuse"), debate_id="traced")
    assert isinstance(traced.tracing.callbacks[0], Failing)
    assert len(log.read_text().splitlines()) == 2 * plain_calls  # no call made twice

    def transcript(run: DebateRun) -> list[tuple[str, str, str | None, str]]:
        return [(c.agent_id, c.type, c.target_agent_id, c.content) for c in run.state()["contributions"]]

    assert transcript(traced) == transcript(plain)
    assert [u.attempts for u in traced.state()["usage"]] == [u.attempts for u in plain.state()["usage"]]


def test_the_cli_warns_once_when_langfuse_is_unavailable(cli, isolated: Path) -> None:
    document = {
        "agents": [
            {"id": "arch", "name": "Arch", "role": "architect", "model": "m", "provider": "offline"},
            {"id": "kiss", "name": "Kiss", "role": "kiss", "model": "m", "provider": "offline"},
        ],
        "debate": {"rounds": 1, "trace": "langfuse"},
    }
    (isolated / "debate-config.json").write_text(json.dumps(document), encoding="utf-8")
    result = cli("debate", "--offline", PROBLEM)  # no Langfuse keys (and perhaps no package)
    assert result.code == 0, result.stderr
    assert result.stderr.count("warning: debate.trace is 'langfuse'") == 1
    assert "the debate runs untraced" in result.stderr


def test_trace_langsmith_in_the_config_needs_only_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    import langchain_core.tracers.langchain as tracers

    from dialectic.runner.tracing import tracing_for

    class LangChainTracer:  # the real one contacts LangSmith as soon as it exists
        pass

    monkeypatch.setattr(tracers, "LangChainTracer", LangChainTracer)
    settings = settings_for("langsmith")
    assert "LANGSMITH_API_KEY is not set" in (tracing_for(settings, {}).warning or "")
    assert tracing_for(settings, {"LANGSMITH_API_KEY": "k", "LANGSMITH_TRACING": "true"}).callbacks == []
    [tracer] = tracing_for(settings, {"LANGSMITH_API_KEY": "k"}).callbacks
    assert isinstance(tracer, LangChainTracer)
