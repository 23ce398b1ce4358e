"""The judge's output as readers of the TypeScript tool's files expect it, and the warnings given
where the TypeScript tool warns: questions beyond ``clarificationsMaxPerAgent`` dropped, a reply
without a valid structured block."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langgraph.graph import START, StateGraph
from langgraph.runtime import Runtime
from pydantic import Field
from typing_extensions import TypedDict

from dialectic.configs.loader import validate_config
from dialectic.configs.settings import resolve_settings
from dialectic.debate.context import DebateContext
from dialectic.debate.phases import SYNTHESIZE
from dialectic.debate.state import ClarifyTask
from dialectic.nodes.agent_call import ask_structured
from dialectic.nodes.clarify import clarify
from dialectic.nodes.judge import Synthesis, assessment_markdown


class Replies(BaseChatModel):
    """Answers each structured call with the next object of its list (as a tool call)."""

    replies: list[dict[str, Any]] = Field(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "replies"

    def bind_tools(self, tools: Any, *, tool_choice: str | None = None, **kwargs: Any) -> Any:
        from langchain_core.utils.function_calling import convert_to_openai_tool

        return self.bind(tools=[convert_to_openai_tool(t) for t in tools], tool_choice=tool_choice, **kwargs)

    def _generate(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any
    ) -> ChatResult:
        name = kwargs["tools"][0]["function"]["name"]
        message = AIMessage(content="", tool_calls=[{"name": name, "args": self.replies.pop(0), "id": "c1"}])
        message.usage_metadata = {"input_tokens": 10, "output_tokens": 5, "total_tokens": 15}
        return ChatResult(generations=[ChatGeneration(message=message)])


def context(*replies: dict[str, Any], **debate: Any) -> DebateContext:
    member = {"model": "m", "provider": "openai"}
    config = validate_config(
        {
            "agents": [
                {"id": "a1", "name": "Ada", "role": "architect", **member},
                {"id": "a2", "name": "Kim", "role": "kiss", **member},
            ],
            "judge": {"id": "judge", "name": "Judge", "role": "generalist", **member},
            "debate": debate,
        },
        "test-config",
    )
    settings, _ = resolve_settings(config, None, offline=False)
    ctx = DebateContext(settings)
    fake = Replies(replies=list(replies))
    for member_id in ("a1", "a2", "judge"):
        ctx._models[member_id] = fake
    return ctx


class _Out(TypedDict, total=False):
    out: Any


def in_graph(ctx: DebateContext, work: Callable[[Runtime[DebateContext]], Any]) -> tuple[Any, list[str]]:
    """Run ``work`` inside a node; returns its result and the warnings it streamed."""

    def node(state: _Out, runtime: Runtime[DebateContext]) -> _Out:
        return {"out": work(runtime)}

    graph = StateGraph(_Out, context_schema=DebateContext)
    graph.add_node("work", node)
    graph.add_edge(START, "work")
    warnings: list[str] = []
    result: Any = None
    for mode, data in graph.compile().stream({}, context=ctx, stream_mode=["custom", "values"]):
        if mode == "custom" and data.get("event") == "warning":
            warnings.append(data["message"])
        elif mode == "values":
            result = data.get("out")
    return result, warnings


def test_the_assessment_reads_as_the_typescript_tool_writes_it() -> None:
    synthesis = Synthesis(
        solutionMarkdown="# Design",
        unfulfilledMajorRequirements=["jobs never run twice"],
        openQuestions=["peak load?"],
        confidence=90,
    )
    text = assessment_markdown(synthesis, 40)
    assert "\n---\n\n## Judge Assessment\n\n**Confidence Score**: 40\n" in text
    sections = [line for line in text.splitlines() if line.startswith("### ")]
    assert sections == [
        "### Unfulfilled Major Requirements",
        "### Open Questions",
        "### Recommendations",
        "### Trade-offs",
    ]
    assert "- jobs never run twice" in text


def test_questions_beyond_the_limit_are_dropped_with_a_warning() -> None:
    asked = {"questions": [{"question": f"Question {n}?"} for n in range(1, 4)]}
    ctx = context(asked, clarificationsMaxPerAgent=2)
    task = ClarifyTask(agent_id="a1", iteration=1, problem="Design a cache.")
    update, warnings = in_graph(ctx, lambda runtime: clarify(task, runtime))
    assert update["agent_questions"][0].questions == ("Question 1?", "Question 2?")
    assert warnings == [
        "Ada (a1) asked 3 clarifying questions; kept the first 2 (debate.clarificationsMaxPerAgent)"
    ]


def test_questions_within_the_limit_give_no_warning() -> None:
    ctx = context({"questions": [{"question": "Only one?"}]}, clarificationsMaxPerAgent=2)
    task = ClarifyTask(agent_id="a2", iteration=1, problem="Design a cache.")
    update, warnings = in_graph(ctx, lambda runtime: clarify(task, runtime))
    assert update["agent_questions"][0].questions == ("Only one?",)
    assert warnings == []


def test_a_judge_reply_without_a_valid_block_is_warned_about_and_asked_again() -> None:
    valid = {"solutionMarkdown": "# Design", "confidence": 70}
    ctx = context({"solutionMarkdown": "# Design"}, valid)  # the first has no confidence
    (synthesis, _usage), warnings = in_graph(
        ctx, lambda runtime: ask_structured(runtime, SYNTHESIZE, "judge", 2, "synthesize", Synthesis)
    )
    assert synthesis.confidence == 70
    assert len(warnings) == 1
    assert warnings[0].startswith("judge (synthesize): the reply had no valid Synthesis block (")
    assert warnings[0].endswith("); asked again")
