"""Extension nodes on the offline model: where they run, what they see, what they may change,
how their failures are recorded, and that they are checkpointed like any node."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from dialectic.configs.loader import validate_config
from dialectic.configs.settings import RunSettings, resolve_settings
from dialectic.errors import ConfigError
from dialectic.extensions import DebateView, Extension, ExtensionContext, ExtensionUpdate
from dialectic.graphs.debate import GraphOptions, build_graph
from dialectic.report.markdown import render_report
from dialectic.runner.run import DebateRun, utc_now

PROBLEM = (
    "Design a notification service.\n"
    "It must deliver messages to 10,000 users within 5 seconds.\n"
    "Messages must never be lost after they are accepted."
)
AGENTS = ("agent-architect", "agent-performance", "agent-kiss")


def settings_for(
    rounds: int = 2, extensions: list[dict[str, Any]] | None = None, **debate: Any
) -> RunSettings:
    document = {
        "agents": [
            {
                "id": agent_id,
                "name": agent_id,
                "role": agent_id.removeprefix("agent-"),
                "model": "sim",
                "provider": "offline",
                "maxRetries": 0,
            }
            for agent_id in AGENTS
        ],
        "judge": {
            "id": "judge-main",
            "name": "Judge",
            "model": "sim",
            "provider": "offline",
            "maxRetries": 0,
        },
        "debate": {"rounds": rounds, "summarization": {"enabled": False}, **debate},
        "extensions": extensions or [],
    }
    settings, _ = resolve_settings(validate_config(document, "test"), None, offline=True)
    return settings


def run_with(
    extensions: list[Extension], settings: RunSettings | None = None, saver: Any = None
) -> DebateRun:
    run = DebateRun(
        saver or InMemorySaver(),
        "ext-1",
        settings or settings_for(),
        created_at=utc_now(),
        extensions=extensions,
    )
    return run


class Recorder:
    """An extension that remembers what it saw and saves a small record each round."""

    def __init__(self, update: Any = None) -> None:
        self.seen: list[dict[str, Any]] = []
        self.update = update

    def __call__(self, view: DebateView, context: ExtensionContext) -> Any:
        current = view.current
        self.seen.append(
            {
                "round": view.round,
                "position": context.position,
                "proposals": len(current.proposals),
                "critiques": len(current.critiques),
                "refinements": len(current.refinements),
                "consensus": [r for r, _ in view.consensus],
                "saved": [s.value for s in view.extension_data.get(context.name, ())],
                "debate_id": context.debate_id,
            }
        )
        if self.update is not None:
            return self.update(view, context) if callable(self.update) else self.update
        return {"data": {"round": view.round, "refinements": len(current.refinements)}}


EXPECTED_COUNTS = {  # what exists of the round when an extension at this position runs
    "propose": (3, 0, 0),
    "critique": (3, 6, 0),
    "refine": (3, 6, 3),
    "round": (3, 6, 3),
}


@pytest.mark.parametrize("position", ["propose", "critique", "refine", "round"])
def test_an_extension_runs_once_per_round_after_its_position(position: str) -> None:
    recorder = Recorder()
    settings = settings_for(rounds=2, terminationCondition={"type": "convergence", "threshold": 100})
    run = run_with([Extension("probe", recorder, after=position)], settings)
    result = run.execute({"problem": PROBLEM})

    assert result.status == "completed", result.message
    assert [s["round"] for s in recorder.seen] == [1, 2]
    for seen in recorder.seen:
        assert (seen["proposals"], seen["critiques"], seen["refinements"]) == EXPECTED_COUNTS[position]
        assert seen["debate_id"] == "ext-1"
    # The convergence check of round 1 comes after "refine" and before "round" extensions.
    assert recorder.seen[0]["consensus"] == ([1] if position == "round" else [])
    assert recorder.seen[1]["saved"] == [{"round": 1, "refinements": EXPECTED_COUNTS[position][2]}]
    saved = result.record.dump()["extensions"]["probe"]
    assert saved["after"] == position
    assert [(r["round"], r["data"]["round"]) for r in saved["runs"]] == [(1, 1), (2, 2)]


def test_extensions_run_in_phase_order_and_chain_at_one_position() -> None:
    order: list[tuple[int, str]] = []

    def mark(label: str) -> Any:
        def extension(view: DebateView, context: ExtensionContext) -> None:
            order.append((view.round, label))

        return extension

    extensions = [
        Extension("at_round", mark("round"), after="round"),
        Extension("refine_a", mark("refine-a"), after="refine"),
        Extension("refine_b", mark("refine-b"), after="refine"),
        Extension("at_critique", mark("critique"), after="critique"),
        Extension("at_propose", mark("propose"), after="propose"),
    ]
    result = run_with(extensions).execute({"problem": PROBLEM})
    assert result.status == "completed"
    per_round = ["propose", "critique", "refine-a", "refine-b", "round"]
    assert order == [(1, label) for label in per_round] + [(2, label) for label in per_round]


def test_notes_reach_later_prompts_of_the_agents_and_the_judge(monkeypatch: pytest.MonkeyPatch) -> None:
    import dialectic.providers.offline as offline

    prompts: list[tuple[str, str, int, str]] = []
    original_text, original_structured = offline.OfflineChatModel._text, offline.OfflineChatModel._structured

    def spy_text(self, meta, messages, rng):
        prompts.append(
            (meta["dialectic_agent"], meta["dialectic_phase"], meta["dialectic_round"], messages[-1].content)
        )
        return original_text(self, meta, messages, rng)

    def spy_structured(self, schema, meta, messages, rng):
        prompts.append(
            (meta["dialectic_agent"], meta["dialectic_phase"], meta["dialectic_round"], messages[-1].content)
        )
        return original_structured(self, schema, meta, messages, rng)

    monkeypatch.setattr(offline.OfflineChatModel, "_text", spy_text)
    monkeypatch.setattr(offline.OfflineChatModel, "_structured", spy_structured)

    def coach(view: DebateView, context: ExtensionContext) -> ExtensionUpdate:
        if view.round == 1:
            return ExtensionUpdate(notes="NOTE-FOR-ALL", agent_notes={"agent-kiss": "NOTE-FOR-KISS"})
        return ExtensionUpdate(notes="")  # withdrawn for round 2's refinements and the judge

    result = run_with([Extension("coach", coach, after="critique")]).execute({"problem": PROBLEM})
    assert result.status == "completed"

    def seen(agent: str, phase: str, round_number: int) -> str:
        return next(p for a, ph, r, p in prompts if (a, ph, r) == (agent, phase, round_number))

    assert "NOTE-FOR-ALL" not in seen("agent-kiss", "critique", 1)  # before the extension ran
    assert "NOTE-FOR-ALL" in seen("agent-architect", "refine", 1)
    assert "NOTE-FOR-KISS" in seen("agent-kiss", "refine", 1)
    assert "NOTE-FOR-KISS" not in seen("agent-architect", "refine", 1)
    assert "NOTE-FOR-ALL" in seen("agent-performance", "critique", 2)  # still in force
    assert "NOTE-FOR-ALL" not in seen("agent-performance", "refine", 2)
    assert "NOTE-FOR-KISS" in seen("agent-kiss", "refine", 2)  # agent notes were not replaced
    judge_prompt = next(p for a, ph, _, p in prompts if ph == "synthesize")
    assert "NOTE-FOR-ALL" not in judge_prompt and "NOTE-FOR-KISS" not in judge_prompt


def test_the_judge_sees_notes_left_at_the_end_of_the_last_round(monkeypatch: pytest.MonkeyPatch) -> None:
    import dialectic.providers.offline as offline

    judge_prompts: list[str] = []
    original = offline.OfflineChatModel._structured

    def spy(self, schema, meta, messages, rng):
        if meta["dialectic_phase"] == "synthesize":
            judge_prompts.append(messages[-1].content)
        return original(self, schema, meta, messages, rng)

    monkeypatch.setattr(offline.OfflineChatModel, "_structured", spy)
    tally = Extension(
        "tally", lambda view, context: {"notes": f"TALLY after round {view.round}"}, after="round"
    )
    run_with([tally], settings_for(rounds=1)).execute({"problem": PROBLEM})
    assert "## Notes" in judge_prompts[0] and "TALLY after round 1" in judge_prompts[0]


def test_the_view_is_read_only() -> None:
    problems: list[str] = []

    def meddle(view: DebateView, context: ExtensionContext) -> None:
        for attempt in (
            lambda: setattr(view, "problem", "x"),
            lambda: setattr(view.current.proposals[0], "content", "x"),
            lambda: view.rounds.append(None),  # type: ignore[attr-defined]
            lambda: view.extension_data.__setitem__("x", ()),  # type: ignore[index]
            lambda: setattr(context, "round", 9),
        ):
            try:
                attempt()
            except (dataclasses.FrozenInstanceError, AttributeError, TypeError):
                continue
            problems.append("a mutation went through")

    result = run_with([Extension("meddle", meddle, after="propose")], settings_for(rounds=1)).execute(
        {"problem": PROBLEM}
    )
    assert result.status == "completed" and problems == []


def test_a_raising_extension_is_a_recorded_failure_and_the_debate_completes() -> None:
    def broken(view: DebateView, context: ExtensionContext) -> None:
        raise RuntimeError(f"no coverage table in round {view.round}")

    after = Recorder()
    run = run_with([Extension("broken", broken, after="refine"), Extension("after", after, after="refine")])
    result = run.execute({"problem": PROBLEM})

    assert result.status == "degraded" and result.exit_code == 0
    assert result.record.finalSolution is not None
    assert [s["round"] for s in after.seen] == [1, 2]  # the chain goes on past the failure
    failures = [(f.agentId, f.phase, f.round) for f in result.record.failures or []]
    assert failures == [("broken", "extension", 1), ("broken", "extension", 2)]
    assert "RuntimeError: no coverage table in round 1" in (result.record.failures or [])[0].error
    runs = result.record.dump()["extensions"]["broken"]["runs"]
    assert [r.get("failed") for r in runs] == [True, True]
    report = render_report(result.record)
    assert "| broken | extension | 1 |  | no |" in report


@pytest.mark.parametrize(
    ("returned", "why"),
    [
        ({"score": 3}, "unknown key 'score'"),
        ({"data": {1, 2}}, "not JSON-serializable"),
        ({"agent_notes": {"agent-nobody": "hi"}}, "unknown agent 'agent-nobody'"),
        ("a string", "returned a str"),
    ],
)
def test_an_invalid_update_is_a_recorded_failure(returned: Any, why: str) -> None:
    result = run_with(
        [Extension("odd", lambda view, context: returned, after="round")], settings_for(rounds=1)
    ).execute({"problem": PROBLEM})
    assert result.status == "degraded"
    [failure] = result.record.failures or []
    assert failure.agentId == "odd" and why in failure.error and "returned an invalid update" in failure.error


def test_extension_runs_are_checkpointed_and_not_repeated_on_resume(monkeypatch: pytest.MonkeyPatch) -> None:
    recorder = Recorder()
    saver = InMemorySaver()
    settings = settings_for(rounds=2)
    monkeypatch.setenv("DIALECTIC_OFFLINE_FAIL", "judge-main:synthesize")
    first = run_with([Extension("probe", recorder, after="round")], settings, saver).execute(
        {"problem": PROBLEM}
    )
    assert first.exit_code == 3
    assert [s["round"] for s in recorder.seen] == [1, 2]

    monkeypatch.delenv("DIALECTIC_OFFLINE_FAIL")
    again = run_with([Extension("probe", recorder, after="round")], settings, saver)
    resumed = again.execute(again.resume_input())  # the provider pause continues: the judge again
    assert resumed.status == "completed"
    assert [s["round"] for s in recorder.seen] == [1, 2]  # not run again
    assert len(resumed.record.dump()["extensions"]["probe"]["runs"]) == 2


def test_a_report_section_is_rendered_from_the_latest_run() -> None:
    def table(view: DebateView, context: ExtensionContext) -> ExtensionUpdate:
        return ExtensionUpdate(report=f"| round |\n|---|\n| {view.round} |")

    result = run_with([Extension("table", table, after="refine")]).execute({"problem": PROBLEM})
    report = render_report(result.record)
    assert "## Extension: table\n\n| round |\n|---|\n| 2 |\n" in report
    assert report.index("## Extension: table") < report.index("## Outcome")


# --- problems found before anything runs -----------------------------------------------------


def test_build_graph_accepts_extensions_by_keyword_and_in_options() -> None:
    probe = Extension("probe", Recorder(), after="refine")
    by_keyword = build_graph(extensions=[probe]).compile()
    by_options = build_graph(GraphOptions(extensions=(probe,))).compile()
    assert "probe" in by_keyword.get_graph().nodes and "probe" in by_options.get_graph().nodes
    as_dict = build_graph(extensions=[{"name": "probe", "callable": Recorder(), "after": "round"}]).compile()
    assert "probe" in as_dict.get_graph().nodes


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Extension("x", lambda view: None, after="refine"), "wrong signature"),
        (lambda: Extension("x", lambda view, context, extra: None, after="refine"), "wrong signature"),
        (lambda: Extension("x", "not a function", after="refine"), "not callable"),  # type: ignore[arg-type]
        (lambda: Extension("x", Recorder(), after="judge"), "unknown position 'judge'"),
        (lambda: Extension("bad name!", Recorder(), after="round"), "name"),
        (
            lambda: build_graph(extensions=[Extension("judge", Recorder(), after="round")]),
            "taken by the debate graph",
        ),
        (
            lambda: build_graph(extensions=[Extension("round", Recorder(), after="round")]),
            "key of the debate state",
        ),
        (
            lambda: build_graph(
                extensions=[
                    Extension("x", Recorder(), after="round"),
                    Extension("x", Recorder(), after="refine"),
                ]
            ),
            "listed twice",
        ),
        (
            lambda: build_graph(
                extensions=[{"name": "x", "callable": "no_such_module_here:f", "after": "round"}]
            ),
            "cannot import",
        ),
        (
            lambda: build_graph(
                extensions=[{"name": "x", "callable": "json:no_such_function", "after": "round"}]
            ),
            "no attribute",
        ),
        (
            lambda: build_graph(extensions=[{"name": "x", "callable": "json", "after": "round"}]),
            "must look like",
        ),
        (
            lambda: build_graph(extensions=[{"name": "x", "callable": "missing.py:f", "after": "round"}]),
            "not found",
        ),
        (lambda: build_graph(extensions=[{"name": "x", "after": "round"}]), "entry point named 'x'"),
    ],
)
def test_broken_extensions_are_config_errors_naming_them(make: Any, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        make()
    assert message in str(caught.value)
    assert (
        "'x'" in str(caught.value)
        or "judge" in str(caught.value)
        or "round" in str(caught.value)
        or "bad name" in str(caught.value)
    )


def test_async_extensions_are_refused() -> None:
    async def later(view: DebateView, context: ExtensionContext) -> None:
        return None

    with pytest.raises(ConfigError, match="async"):
        Extension("later", later, after="round")


def test_a_file_callable_is_relative_to_the_config_folder(isolated: Path) -> None:
    folder = isolated / "conf"
    folder.mkdir()
    (folder / "mine.py").write_text(
        "def words(view, context):\n    return {'data': sum(len(c.content.split()) for c in view.current.refinements)}\n",
        encoding="utf-8",
    )
    settings = settings_for(
        rounds=1, extensions=[{"name": "words", "callable": "mine.py:words", "after": "refine"}]
    )
    settings = settings.model_copy(update={"config_path": str(folder / "debate-config.json")})
    result = DebateRun(InMemorySaver(), "f-1", settings, created_at=utc_now()).execute({"problem": PROBLEM})
    runs = result.record.dump()["extensions"]["words"]["runs"]
    assert result.status == "completed" and runs[0]["data"] > 100
