"""The structured part of a critique or a refinement: one fenced JSON block at the end of the
reply, after the prose (findings and verdicts; responses). The prose stays the contribution;
the block becomes ledger entries. A block that is missing or invalid gets one repair call (see
``nodes/agent_call.py``), as the judge's structured replies do.

A fenced block rather than a JSON-mode call: the prose is what the TypeScript format keeps, a
tool-using agent answers in text after its tool turns, and one call carries both.
"""

from __future__ import annotations

import json
import re
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

Severity = Literal["critical", "major", "minor"]
SEVERITIES: tuple[str, ...] = ("critical", "major", "minor")  # most serious first


class _Block(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Finding(_Block):
    title: str = Field(min_length=1, max_length=300)
    target: str | None = None  # whose design (a batched critique covers every peer)
    severity: Severity
    evidence: str = ""
    suggestion: str = ""


class Verdict(_Block):
    id: str = Field(pattern=r"^I\d+$")
    verdict: Literal["close", "reopen"]
    argument: str = ""


class CritiqueBlock(_Block):
    findings: list[Finding] = Field(default_factory=list)
    verdicts: list[Verdict] = Field(default_factory=list)


class Response(_Block):
    id: str = Field(pattern=r"^I\d+$")
    response: Literal["accepted", "rebutted", "deferred"]
    note: str = ""
    sections: list[str] = Field(default_factory=list)


class RefinementBlock(_Block):
    responses: list[Response] = Field(default_factory=list)


B = TypeVar("B", bound=_Block)

_FENCE = re.compile(r"```(?:json)?[ \t]*\n(.*?)\n?```[ \t]*$", re.S | re.M)


def split(text: str, schema: type[B]) -> tuple[str, B | None, str]:
    """The prose before the reply's last JSON block, the block validated, and why it is not
    (empty when it is)."""
    blocks = list(_FENCE.finditer(text))
    if not blocks:
        return text.strip(), None, "the reply ends with no ```json block"
    last = blocks[-1]
    prose = (text[: last.start()] + text[last.end() :]).strip()
    try:
        return prose, schema.model_validate(json.loads(last.group(1))), ""
    except (ValueError, ValidationError) as exc:
        return prose, None, str(exc).splitlines()[0][:300]


def repair_request(schema: type[_Block], why: str) -> str:
    """What a model is told when its block could not be used: send the block alone."""
    return (
        f"The JSON block at the end of your reply could not be used ({why}). Reply with only that "
        f"block, a ```json fenced object with the fields {', '.join(schema.model_fields)}, as the "
        "instructions above describe."
    )
