"""The debate JSON as readers of the TypeScript tool's format expect it, field by field.

The models below restate the TypeScript tool's type definitions of a saved debate
(``DebateState`` and what it holds, in its ``debate.types.ts``/``agent.types.ts``): the fields
it declares, their types, and which are optional. An optional TypeScript field is absent or of
its type, never ``null``. Keys this tool adds (usage, failures, …) are allowed, as TypeScript
readers ignore them. The models are checked first against a debate the TypeScript tool saved.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, StrictInt, StrictStr, model_validator

Number = StrictInt | float
Role = Literal["architect", "performance", "security", "testing", "kiss", "generalist", "datamodeling"]
Source = Literal["built-in", "file"]


def _js_date(value: str) -> str:
    datetime.fromisoformat(value.replace("Z", "+00:00"))  # what new Date(value) reads
    return value


IsoDate = Annotated[StrictStr, AfterValidator(_js_date)]


class TS(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)

    @model_validator(mode="before")
    @classmethod
    def _no_nulls(cls, data: Any) -> Any:
        nulls = [
            key for key in cls.model_fields if isinstance(data, dict) and key in data and data[key] is None
        ]
        assert not nulls, f"{cls.__name__}: null where TypeScript expects a value or no key: {nulls}"
        return data


class AgentPromptMetadata(TS):
    agentId: StrictStr
    role: Role
    source: Source
    path: StrictStr | None = None

    @model_validator(mode="after")
    def _path_with_file(self) -> AgentPromptMetadata:
        assert (self.source == "file") == (self.path is not None), self
        return self


class JudgePromptMetadata(TS):
    id: StrictStr
    source: Source
    path: StrictStr | None = None
    summarySource: Source | None = None
    summaryPath: StrictStr | None = None

    @model_validator(mode="after")
    def _paths_with_files(self) -> JudgePromptMetadata:
        assert (self.source == "file") == (self.path is not None), self
        assert (self.summarySource == "file") == (self.summaryPath is not None), self
        return self


class PromptSources(TS):
    agents: list[AgentPromptMetadata]
    judge: JudgePromptMetadata


class SummarizationMetadata(TS):
    beforeChars: Number
    afterChars: Number
    method: Literal["length-based"]
    timestamp: IsoDate
    latencyMs: Number | None = None
    tokensUsed: Number | None = None
    model: StrictStr | None = None
    temperature: Number | None = None
    provider: StrictStr | None = None


class DebateSummary(TS):
    agentId: StrictStr
    agentRole: Role
    summary: StrictStr
    metadata: SummarizationMetadata


class ContributionMetadata(TS):
    tokensUsed: Number | None = None
    latencyMs: Number | None = None
    model: StrictStr | None = None
    toolCalls: list[dict[str, Any]] | None = None
    toolResults: list[dict[str, Any]] | None = None
    toolCallIterations: StrictInt | None = None


class Contribution(TS):
    agentId: StrictStr
    agentRole: Role
    type: Literal["proposal", "critique", "refinement"]
    content: StrictStr
    targetAgentId: StrictStr | None = None
    metadata: ContributionMetadata


class DebateRound(TS):
    roundNumber: StrictInt
    contributions: list[Contribution]
    summaries: dict[str, DebateSummary] | None = None
    timestamp: IsoDate


class Solution(TS):
    description: StrictStr
    implementation: StrictStr | None = None
    tradeoffs: list[StrictStr]
    recommendations: list[StrictStr]
    confidence: Number
    synthesizedBy: StrictStr
    unfulfilledMajorRequirements: list[StrictStr] | None = None
    openQuestions: list[StrictStr] | None = None


class ClarificationItem(TS):
    id: StrictStr
    question: StrictStr
    answer: StrictStr


class AgentClarifications(TS):
    agentId: StrictStr
    agentName: StrictStr
    role: Role
    items: list[ClarificationItem]


class DebateFile(TS):
    id: StrictStr
    problem: StrictStr
    context: StrictStr | None = None
    # TypeScript's pending|running|completed|failed, and the statuses this tool adds (spec §3).
    status: Literal[
        "pending", "running", "completed", "failed", "waiting_for_input", "interrupted", "degraded"
    ]
    currentRound: StrictInt
    rounds: list[DebateRound]
    finalSolution: Solution | None = None
    judgeSummary: DebateSummary | None = None
    createdAt: IsoDate
    updatedAt: IsoDate
    promptSources: PromptSources | None = None
    clarifications: list[AgentClarifications] | None = None
    clarificationIterations: StrictInt | None = None
    userFeedback: StrictInt | None = None
    suspendedAtNode: StrictStr | None = None
    suspendedAt: IsoDate | None = None


PROBLEM = "Design a job scheduler. It must run 1,000 jobs per minute. Jobs must never run twice."


def write_config(folder: Path) -> Path:
    (folder / "prompts").mkdir()
    (folder / "prompts" / "architect.md").write_text("You are an architect who draws boundaries first.\n")
    (folder / "prompts" / "judge-summary.md").write_text("Summarise the debate for the final decision.\n")
    member = {"model": "gpt-4o-mini", "provider": "openai"}
    document = {
        "agents": [
            {
                "id": "agent-architect",
                "name": "Architect",
                "role": "architect",
                "temperature": 0.6,
                "systemPromptPath": "prompts/architect.md",
                **member,
            },
            {"id": "agent-kiss", "name": "Simplicity", "role": "kiss", "temperature": 0.7, **member},
            {"id": "agent-perf", "name": "Performance", "role": "performance", **member},
        ],
        "judge": {
            "id": "judge-main",
            "name": "Judge",
            "role": "generalist",
            "summaryPromptPath": "prompts/judge-summary.md",
            **member,
        },
        "debate": {
            "rounds": 2,
            "summarization": {"enabled": True, "threshold": 300, "maxLength": 400},
            "clarificationsMaxIterations": 1,
        },
    }
    path = folder / "debate-config.json"
    path.write_text(json.dumps(document))
    return path


def saved(folder: Path, debate_id: str) -> dict[str, Any]:
    return json.loads((folder / "debates" / f"{debate_id}.json").read_text(encoding="utf-8"))


def test_the_models_read_a_debate_the_typescript_tool_saved(fixtures_dir: Path):
    document = json.loads((fixtures_dir / "saved-debate-2-agents-2-rounds.json").read_text(encoding="utf-8"))
    parsed = DebateFile.model_validate(document)
    assert parsed.judgeSummary and parsed.judgeSummary.metadata.provider == "openrouter"
    assert parsed.promptSources and parsed.promptSources.agents[0].source == "built-in"


def test_a_paused_then_finished_debate_file_has_the_typescript_shape(cli, isolated: Path):
    config = write_config(isolated)
    fail = {"DIALECTIC_OFFLINE_FAIL": "agent-kiss:critique:401"}  # a permanent failure, recorded
    paused = cli(  # nothing on standard input: the debate pauses for the answers
        "debate", "--offline", "-c", str(config), "--clarify", "--id", "ts-1", PROBLEM, env=fail, input=""
    )
    assert paused.code == 5, paused.stderr

    waiting = DebateFile.model_validate(saved(isolated, "ts-1"))
    assert waiting.status == "waiting_for_input"
    assert waiting.suspendedAtNode == "clarification_input"  # the TypeScript tool's node name
    assert waiting.suspendedAt is not None and waiting.suspendedAt >= waiting.createdAt
    assert waiting.clarifications, "the questions waiting for answers are in the file"
    pending = [item for group in waiting.clarifications for item in group.items]
    assert pending and all(item.answer == "" for item in pending)  # as TypeScript holds them
    first = pending[0].id

    (isolated / "answers.json").write_text(json.dumps({first: "about twenty teams"}))
    done = cli("resume", "ts-1", "--answers", "answers.json", env=fail, input="")
    assert done.code == 0, done.stderr
    record = saved(isolated, "ts-1")
    final = DebateFile.model_validate(record)
    assert final.status == "degraded"
    assert "suspendedAtNode" not in record and "suspendedAt" not in record
    answers = {item.id: item.answer for group in final.clarifications or [] for item in group.items}
    assert answers[first] == "about twenty teams"
    assert set(answers.values()) <= {"about twenty teams", "NA"}

    # promptSources: "built-in" | "file", the path beside it.
    assert final.promptSources is not None
    sources = {a.agentId: a for a in final.promptSources.agents}
    assert sources["agent-architect"].source == "file"
    assert sources["agent-architect"].path == str((isolated / "prompts" / "architect.md").resolve())
    assert sources["agent-kiss"].source == "built-in" and sources["agent-kiss"].path is None
    judge = final.promptSources.judge
    assert (judge.id, judge.source, judge.summarySource) == ("judge-main", "built-in", "file")
    assert judge.summaryPath == str((isolated / "prompts" / "judge-summary.md").resolve())

    # Summaries (agents' and the judge's) carry the temperature and provider of their call.
    temperatures = {"agent-architect": 0.6, "agent-kiss": 0.7, "agent-perf": 0.5}
    summaries = [s for r in final.rounds for s in (r.summaries or {}).values()]
    assert summaries, "the low threshold makes the agents summarize"
    for summary in summaries:
        assert summary.metadata.temperature == temperatures[summary.agentId]
        assert summary.metadata.provider == "offline"  # --offline: the model that answered
    assert final.judgeSummary is not None
    assert final.judgeSummary.metadata.temperature == 0.3
    assert final.judgeSummary.metadata.provider == "offline"

    # The failure is recorded (our addition) and the rest of the debate is TypeScript's shape.
    assert [(f["agentId"], f["phase"]) for f in record["failures"]][:1] == [("agent-kiss", "critique")]
    assert final.finalSolution is not None and isinstance(record["finalSolution"]["confidence"], int)
    confidence = record["finalSolution"]["confidence"]
    assert f"**Confidence Score**: {confidence}\n" in final.finalSolution.description
