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
from typing import Annotated, Literal, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

Severity = Literal["critical", "major", "minor"]
SEVERITIES: tuple[str, ...] = ("critical", "major", "minor")  # most serious first


class _Block(BaseModel):
    model_config = ConfigDict(extra="ignore")


def _lower(value: object) -> object:
    return value.strip().lower() if isinstance(value, str) else value


def _item_id(value: object) -> object:
    return value.strip().upper() if isinstance(value, str) else value


def _short(value: object) -> object:
    return value.strip()[:300] if isinstance(value, str) else value


class Finding(_Block):
    title: Annotated[str, BeforeValidator(_short)] = Field(min_length=1)
    target: str | None = None  # whose design (a batched critique covers every peer)
    severity: Annotated[Severity, BeforeValidator(_lower)]
    evidence: str = ""
    suggestion: str = ""


class Verdict(_Block):
    id: Annotated[str, BeforeValidator(_item_id)] = Field(pattern=r"^I\d+$")
    verdict: Annotated[Literal["close", "reopen"], BeforeValidator(_lower)]
    argument: str = ""


class CritiqueBlock(_Block):
    findings: list[Finding] = Field(default_factory=list)
    verdicts: list[Verdict] = Field(default_factory=list)


class Response(_Block):
    id: Annotated[str, BeforeValidator(_item_id)] = Field(pattern=r"^I\d+$")
    response: Annotated[Literal["accepted", "rebutted", "deferred"], BeforeValidator(_lower)]
    note: str = ""
    sections: list[str] = Field(default_factory=list)


class RefinementBlock(_Block):
    responses: list[Response] = Field(default_factory=list)


B = TypeVar("B", bound=_Block)


_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})(.*)$")


def _fenced_blocks(lines: list[str]) -> list[tuple[int, int, str]]:
    """(opening line, closing line, info string) of every closed fenced block, in order."""
    found: list[tuple[int, int, str]] = []
    opened: tuple[int, str, str] | None = None  # line, fence, info
    for index, line in enumerate(lines):
        fence = _FENCE.match(line)
        if fence is None:
            continue
        if opened is None:
            opened = (index, fence.group(1), fence.group(2).strip().lower())
        elif (
            fence.group(1)[0] == opened[1][0]
            and len(fence.group(1)) >= len(opened[1])
            and not fence.group(2).strip()
        ):
            found.append((opened[0], index, opened[2]))
            opened = None
    return found


def split(text: str, schema: type[B]) -> tuple[str, B | None, str]:
    """The prose and the block of a reply: its last fenced block tagged ``json`` (or untagged)
    that validates, and the text without it. With no such block the text stays whole and the
    reason is given."""
    lines = text.split("\n")
    why = "the reply ends with no ```json block"
    for first, last, info in reversed(_fenced_blocks(lines)):
        if info not in ("", "json"):
            continue
        body = "\n".join(lines[first + 1 : last])
        try:
            block = schema.model_validate(json.loads(body))
        except (ValueError, ValidationError) as exc:
            why = str(exc).splitlines()[0][:300]
            continue
        prose = "\n".join(lines[:first] + lines[last + 1 :]).strip()
        return prose, block, ""
    return text.strip(), None, why


def repair_request(schema: type[_Block], why: str) -> str:
    """What a model is told when its block could not be used: send the block alone."""
    return (
        f"The JSON block at the end of your reply could not be used ({why}). Reply with only that "
        f"block, a ```json fenced object with the fields {', '.join(schema.model_fields)}, as the "
        "instructions above describe."
    )
