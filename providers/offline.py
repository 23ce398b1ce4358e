"""The offline simulated chat model: no key, no network, same messages -> same answer.

It is a real ``BaseChatModel``: it supports ``with_structured_output`` (through ``bind_tools``),
reports ``usage_metadata``, and can be slowed down or made to fail from the environment so that
benchmarks and tests exercise the same code paths as a real provider:

- ``DIALECTIC_OFFLINE_LATENCY_MS``: fixed latency added to every call.
- ``DIALECTIC_OFFLINE_CALL_LOG``: a file that gets a JSON line when each call starts and one when
  it ends (calls are counted across processes with it, for example before and after a kill).
- ``DIALECTIC_OFFLINE_FAIL``: comma-separated ``agent:phase`` pairs (``*`` matches any) whose
  calls fail like an unavailable provider (HTTP 503); ``agent:phase:401`` (any HTTP status)
  fails them with that status instead, say a rejected key (a permanent failure).

Critiques and refinements end with the issue ledger's JSON block when their prompt asks for one
(``offline_ledger``), so every path of the ledger runs offline too.
"""

from __future__ import annotations

import json
import math
import os
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import Field

from dialectic.providers import offline_ledger as ledger
from dialectic.providers import offline_text as text
from dialectic.providers import offline_tools as tools

# Metadata keys nodes/llm.py attaches to every call; the offline model reads them to know
# which role speaks in which phase (a real model reads the same facts from the prompt).
META_PHASE = "dialectic_phase"
META_AGENT = "dialectic_agent"
META_ROLE = "dialectic_role"
META_ROUND = "dialectic_round"
META_TARGET = "dialectic_target"
# What kind of text the phase asks for (the phase table's ``speaks_as``): "proposal",
# "critique", "refinement", "summary", "synthesis", "convergence", "questions"; evaluators'
# calls name their phase ("evaluate", "compare") instead.
META_SPEAKS_AS = "dialectic_speaks_as"


class SimulatedOutage(Exception):
    """Raised for calls that ``DIALECTIC_OFFLINE_FAIL`` selects; looks like an HTTP error (503
    unless the pattern names another status)."""

    def __init__(self, message: str, status_code: int = 503) -> None:
        super().__init__(message)
        self.status_code = status_code


def estimate_tokens(chars: int) -> int:
    return max(1, math.ceil(chars / 4))


class OfflineChatModel(BaseChatModel):
    model_name: str = "offline"
    latency_ms: float = 0.0
    call_log: str | None = None
    fail: tuple[str, ...] = Field(default_factory=tuple)

    @classmethod
    def from_environment(cls, model_name: str = "offline") -> OfflineChatModel:
        fail = tuple(p.strip() for p in os.environ.get("DIALECTIC_OFFLINE_FAIL", "").split(",") if p.strip())
        return cls(
            model_name=model_name,
            latency_ms=float(os.environ.get("DIALECTIC_OFFLINE_LATENCY_MS", "0") or 0),
            call_log=os.environ.get("DIALECTIC_OFFLINE_CALL_LOG") or None,
            fail=fail,
        )

    @property
    def _llm_type(self) -> str:
        return "dialectic-offline"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": self.model_name}

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: str | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        formatted = [convert_to_openai_tool(tool) for tool in tools]
        return self.bind(tools=formatted, tool_choice=tool_choice, **kwargs)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        meta = dict(run_manager.metadata) if run_manager else {}
        phase = str(meta.get(META_PHASE, ""))
        agent = str(meta.get(META_AGENT, ""))
        status = self._selected_to_fail(agent, phase)
        if status is not None:
            raise SimulatedOutage(
                f"simulated provider outage for {agent or '?'} in {phase or '?'} (HTTP {status})", status
            )
        self._log("start", meta, None)
        if self.latency_ms:
            time.sleep(self.latency_ms / 1000)
        prompt = _everything(messages)
        rng = text.seeded(self.model_name, phase, prompt)
        forced = self._forced_tool(kwargs)
        if forced is not None:
            name, schema = forced
            args = self._structured(schema, meta, messages, rng)
            message = AIMessage(
                content="",
                tool_calls=[{"name": name, "args": args, "id": f"call_{rng.randrange(16**8):08x}"}],
            )
            output_chars = len(json.dumps(args))
        elif calls := self._tool_calls(kwargs, messages):
            message = AIMessage(
                content="",
                tool_calls=[
                    {"name": name, "args": args, "id": f"call_{rng.randrange(16**8):08x}"}
                    for name, args in calls
                ],
            )
            output_chars = len(json.dumps(calls))
        else:
            content = self._text(meta, messages, rng)
            found = tools.evidence(messages, text.sections(_prompt(messages)).get("Problem", ""))
            content = f"{found}\n{content}" if found else content
            message = AIMessage(content=content)
            output_chars = len(content)
        usage = {
            "input_tokens": estimate_tokens(len(prompt)),
            "output_tokens": estimate_tokens(output_chars),
        }
        usage["total_tokens"] = usage["input_tokens"] + usage["output_tokens"]
        message.usage_metadata = usage  # type: ignore[assignment]
        message.response_metadata = {"model_name": self.model_name}
        self._log("end", meta, usage)
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _selected_to_fail(self, agent: str, phase: str) -> int | None:
        """The HTTP status a call of this agent and phase fails with, if a pattern selects it."""
        for pattern in self.fail:
            want_agent, _, rest = pattern.partition(":")
            want_phase, _, status = rest.partition(":")
            if want_agent in ("*", agent) and want_phase in ("*", "", phase):
                return int(status) if status.isdigit() else 503
        return None

    @staticmethod
    def _tool_calls(kwargs: dict[str, Any], messages: list[BaseMessage]) -> list[tuple[str, dict[str, Any]]]:
        """Calls of the tools the request offers (tool_choice auto), while looking around helps."""
        offered = [tool["function"]["name"] for tool in kwargs.get("tools") or []]
        if not offered or kwargs.get("tool_choice") not in (None, "auto"):
            return []
        return tools.next_calls(offered, messages, text.sections(_prompt(messages)).get("Problem", ""))

    @staticmethod
    def _forced_tool(kwargs: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
        tools = kwargs.get("tools") or []
        if not tools or kwargs.get("tool_choice") in (None, "none", "auto"):
            return None
        function = tools[0]["function"]
        return function["name"], function.get("parameters", {})

    def _structured(
        self, schema: dict[str, Any], meta: dict[str, Any], messages: list[BaseMessage], rng: Any
    ) -> dict[str, Any]:
        """An object for the schema, in the voice the call's metadata asks for (any other
        structured call gets valid values made up from the schema)."""
        asked = _Asked.of(meta, messages)
        user, parts, problem, role = asked.user, asked.parts, asked.problem, asked.role
        speaks_as = meta.get(META_SPEAKS_AS)
        if speaks_as == "synthesis":
            ledger = _section_like(parts, "Issue ledger", "")
            return text.synthesis(problem, parts.get("Final proposals", user), rng, ledger)
        if speaks_as == "convergence":
            return text.convergence(_round(meta), _section_like(parts, "current proposals", user), rng)
        if speaks_as == "questions":
            limit = int(schema.get("properties", {}).get("questions", {}).get("maxItems", 3))
            return text.clarifying_questions(
                role,
                str(meta.get(META_AGENT, "")),
                problem,
                limit,
                parts.get("Clarifications from the problem's owner", ""),
                rng,
            )
        value = text.from_schema(schema, rng)
        assert isinstance(value, dict)
        return value

    def _text(self, meta: dict[str, Any], messages: list[BaseMessage], rng: Any) -> str:
        asked = _Asked.of(meta, messages)
        user, parts, problem, role, agent = asked.user, asked.parts, asked.problem, asked.role, asked.agent
        phase = str(meta.get(META_PHASE, ""))
        speaks_as = meta.get(META_SPEAKS_AS)
        if phase in ("evaluate", "compare"):
            # Seeded by evaluator and run too: repeated runs and evaluators differ a little, as
            # real ones do at temperature 0.1.
            seed = text.seeded(self.model_name, agent, phase, str(meta.get(META_ROUND, 1)), user)
            return text.evaluation(user, seed) if phase == "evaluate" else text.comparison(user, seed)
        if speaks_as == "critique":
            return self._critique(asked, meta, messages, rng)
        if speaks_as == "refinement":
            return self._refinement(asked, meta, messages, rng)
        if speaks_as == "summary":
            limit = _max_length(user)
            history = parts.get("Your history in this debate", "")
            previous = _section_like(parts, "previous summary", "") or _subsection(history, "Summary of your")
            material = _section_like(parts, "material", "") or (
                history + parts.get("Critiques you received", "")
            )
            material = material or user
            return text.summarize(role, agent, material, previous, limit, rng)
        return text.propose(role, agent, problem, rng)

    def _critique(self, asked: _Asked, meta: dict[str, Any], messages: list[BaseMessage], rng: Any) -> str:
        """The prose critique, then the ledger block when the call asks for one."""
        user, parts, problem, role, agent = asked.user, asked.parts, asked.problem, asked.role, asked.agent
        target = str(meta.get(META_TARGET, "the author"))
        design = _section_like(parts, "Proposal by", "")
        prose, points = text.critique_points(role, agent, target, problem, design, rng)
        if not (ledger.asks_for(_everything(messages), "findings") or any(t in parts for t in ledger.DUE)):
            return prose
        return prose + ledger.critique_block(
            role, agent, meta.get(META_TARGET), _round(meta), problem, design, points, parts, user
        )

    def _refinement(self, asked: _Asked, meta: dict[str, Any], messages: list[BaseMessage], rng: Any) -> str:
        """The revised design, changed where it accepts ledger items, then the ledger block when
        the call asks for one."""
        parts, problem = asked.parts, asked.problem
        current = parts.get("Your current proposal") or _current_design(
            parts.get("Your history in this debate", "")
        )
        wanted = ledger.asks_for(_everything(messages), "responses") or ledger.OPEN in parts
        answers = (
            ledger.answers(
                ledger.listed(parts.get(ledger.OPEN, "")),
                _round(meta),
                text.topic_words(problem)[0],
                text.design_elements(current),
            )
            if wanted
            else []
        )
        prose = text.refine(
            asked.role,
            asked.agent,
            problem,
            current,
            parts.get("Critiques you received", ""),
            rng,
            adopted=[answer.adopted for answer in answers if answer.adopted],
            amendments=ledger.amendments(current, answers),
        )
        return prose + ledger.refinement_block(answers) if wanted else prose

    def _log(self, event: str, meta: dict[str, Any], usage: dict[str, int] | None) -> None:
        if not self.call_log:
            return
        record = {
            "event": event,
            "time": time.time(),
            "pid": os.getpid(),
            "phase": meta.get(META_PHASE),
            "agent": meta.get(META_AGENT),
            "round": meta.get(META_ROUND),
            "target": meta.get(META_TARGET),
            **(usage or {}),
        }
        line = (json.dumps(record) + "\n").encode("utf-8")
        # One write on an O_APPEND descriptor: lines from parallel calls never interleave.
        fd = os.open(self.call_log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)


@dataclass(frozen=True)
class _Asked:
    """What a text call's prompt and metadata say, read once for every kind of reply."""

    user: str
    parts: dict[str, str]
    problem: str
    role: str
    agent: str

    @classmethod
    def of(cls, meta: dict[str, Any], messages: list[BaseMessage]) -> _Asked:
        user = _prompt(messages)
        parts = text.sections(user)
        return cls(
            user,
            parts,
            parts.get("Problem", user),
            str(meta.get(META_ROLE, "generalist")),
            str(meta.get(META_AGENT, "agent")),
        )


def _prompt(messages: list[BaseMessage]) -> str:
    """The call's prompt: its first human message (later ones answer tools or ask for a repair)."""
    return next((str(m.content) for m in messages if isinstance(m, HumanMessage)), "")


def _round(meta: dict[str, Any]) -> int:
    return int(meta.get(META_ROUND, 1) or 1)


def _everything(messages: list[BaseMessage]) -> str:
    """Every message of the call (a repair request comes after the prompt)."""
    return "\n\n".join(str(m.content) for m in messages)


def _subsection(text: str, title_start: str) -> str:
    """The body of the first ``### `` subsection whose title starts so (empty if none)."""
    found = re.search(rf"^### {re.escape(title_start)}[^\n]*\n(.*?)(?=^### |\Z)", text, re.M | re.S)
    return found.group(1).strip() if found else ""


def _current_design(history: str) -> str:
    """The agent's current design in its history (the built-in refine prompt shows it there)."""
    found = re.search(r"^### Round \d+: your current design[^\n]*\n(.*?)(?=^### |\Z)", history, re.M | re.S)
    return found.group(1).strip() if found else ""


def _section_like(parts: dict[str, str], fragment: str, default: str) -> str:
    for title, body in parts.items():
        if fragment.lower() in title.lower():
            return body
    return default


def _max_length(prompt: str) -> int:
    import re

    match = re.search(r"at most (\d+) characters", prompt)
    return int(match.group(1)) if match else 2000
