"""Prompt templates: Markdown files with named ``{placeholders}``, one folder per role.

A role folder may hold only some phases; the missing ones fall back to the generalist's.
Placeholders are ``{lower_snake}`` names; any other braces (JSON examples) are left alone.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from importlib import resources

PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]*)\}")

_COMMON = frozenset(
    {"problem", "clarifications", "notes", "history", "requirements", "role", "agent_name", "perspective"}
)

# What each template may use; other `{names}` in a prompt file are text, left as written.
PLACEHOLDERS: dict[str, frozenset[str]] = {
    "system": frozenset({"agent_name", "role"}),
    # The agent's perspective, placed in its prompts after what every panelist shares (the system
    # prompt, the problem): a provider's prompt cache then serves that shared prefix to all.
    "perspective": frozenset({"agent_name", "role"}),
    "propose": _COMMON,
    "critique": _COMMON | {"target_name", "target_role", "target_proposal"},
    "critique_all": _COMMON | {"proposals"},
    "refine": _COMMON | {"proposal", "critiques"},
    "summarize": _COMMON | {"previous_summary", "material", "critiques", "max_length"},
    "clarify": frozenset({"problem", "clarifications", "max_questions", "role", "agent_name", "perspective"}),
    "synthesize": frozenset(
        {
            "problem",
            "clarifications",
            "notes",
            "debate",
            "final_proposals",
            "requirements",
            "agent_name",
            "perspective",
            "ledger",
        }
    ),
    "convergence": frozenset(
        {
            "problem",
            "proposals",
            "round",
            "agent_name",
            "requirements",
            "clarifications",
            "notes",
            "perspective",
        }
    ),
    # Evaluator prompts (system and user alike): the TypeScript tool's three names plus ours.
    "evaluate": frozenset({"problem", "clarifications", "final_solution", "requirements_info"}),
    "compare": frozenset({"problem", "clarifications", "requirements", "solution_1", "solution_2"}),
}
FALLBACK_ROLE = "generalist"


def _phases_in(folder: str) -> tuple[str, ...]:
    """The phases a folder of built-in templates has a file for (``system`` first)."""
    names = sorted(
        item.name.removesuffix(".md")
        for item in resources.files("dialectic.prompts").joinpath(folder).iterdir()
        if item.name.endswith(".md")
    )
    return tuple(sorted(names, key=lambda name: name != "system"))


# The phases an agent's (and the judge's) prompts exist for: every template the generalist (the
# judge) has, so a new phase's prompt file is all it takes.
AGENT_PHASES = _phases_in(FALLBACK_ROLE)
JUDGE_PHASES = ("system", *_phases_in("judge"))  # its system prompt is the panel's (see judge_template)


@cache
def builtin(folder: str, phase: str) -> str | None:
    """The packaged template ``<folder>/<phase>.md``, or None if that folder lacks it."""
    resource = resources.files("dialectic.prompts").joinpath(folder, f"{phase}.md")
    return resource.read_text(encoding="utf-8") if resource.is_file() else None


def agent_template(role: str, phase: str) -> str:
    text = builtin(role, phase) or builtin(FALLBACK_ROLE, phase)
    if text is None:
        raise KeyError(f"no built-in template for phase {phase!r}")
    return text


def judge_template(phase: str) -> str:
    # The judge has the panel's system prompt (a provider's prompt cache then serves it and the
    # problem after it to every call of the debate); its own part is its perspective.
    text = builtin("judge", phase) or (builtin(FALLBACK_ROLE, phase) if phase == "system" else None)
    if text is None:
        raise KeyError(f"no built-in judge template for phase {phase!r}")
    return text


def eval_template(name: str) -> str:
    """A built-in evaluator template: ``system``, ``user``, ``compare_system``, ``compare_user``."""
    text = builtin("eval", name)
    if text is None:
        raise KeyError(f"no built-in evaluator template {name!r}")
    return text


def allowed_placeholders(phase: str) -> frozenset[str]:
    """What a template of this phase may use: the table above, else (a phase added by its prompt
    file alone) what every agent prompt may use plus what the built-in template uses."""
    if phase in PLACEHOLDERS:
        return PLACEHOLDERS[phase]
    template = builtin(FALLBACK_ROLE, phase) or builtin("judge", phase)
    if template is None:
        raise KeyError(f"no built-in template for phase {phase!r}")
    return _COMMON | frozenset(PLACEHOLDER.findall(template))


def places(template: str, name: str) -> bool:
    """Whether the template has a ``{name}`` placeholder."""
    return name in PLACEHOLDER.findall(template)


def unknown_placeholders(template: str, phase: str) -> list[str]:
    allowed = allowed_placeholders(phase)
    return sorted({name for name in PLACEHOLDER.findall(template) if name not in allowed})


def with_instructions(template: str, instructions: str) -> str:
    """A template followed by a user's own instructions (a clarification prompt file adds to ours:
    the model still sees the problem); their headings are pushed below the template's sections."""
    return f"{template.rstrip()}\n\n## Additional instructions\n\n{embed(instructions)}\n"


def with_material(template: str) -> str:
    """A summary template that names no ``{material}`` gets it appended under a heading (and the
    previous summary, unless it places that too): a plain-text prompt file still has something
    to summarize."""
    if places(template, "material"):
        return template
    previous = "" if places(template, "previous_summary") else "{previous_summary}"
    return f"{template.rstrip()}\n{previous}\n## Material to summarize\n\n{{material}}\n"


def render(template: str, values: Mapping[str, object]) -> str:
    """Fill the placeholders; values are inserted verbatim (never re-parsed)."""
    return PLACEHOLDER.sub(lambda m: str(values.get(m.group(1), m.group(0))), template)


# The material a member's calls share, whatever the phase or target (its name and role too):
# prompts place it first, so a provider's prompt cache serves it to every later call.
SHARED_PLACEHOLDERS = frozenset(
    {"problem", "requirements", "clarifications", "notes", "perspective", "history", "agent_name", "role"}
)


def shared_length(template: str, values: Mapping[str, object]) -> int:
    """Characters of ``render(template, values)`` before its call-specific part: up to the line
    of the first placeholder that is not shared material (the template's own text before it,
    fixed instructions, is shared too; a user's template may place call-specific material early).
    0 when the template places no shared material before it."""
    cut, end = len(template), None
    for match in PLACEHOLDER.finditer(template):
        if match.group(1) not in SHARED_PLACEHOLDERS:
            cut = max(end or 0, template.rfind("\n", 0, match.start()) + 1)
            break
        end = match.end()
    return 0 if end is None else len(render(template[:cut], values))


_HEADING = re.compile(r"^(#{1,6})(?=\s)")
_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
_SENTENCE_END = re.compile(r"[.!?](?=\s|$)")


def heading_levels(markdown: str) -> list[int]:
    return [len(match.group(1)) for line in _outside_code(markdown) if (match := _HEADING.match(line))]


def shift_headings(markdown: str, shift: int) -> str:
    """Move every heading by ``shift`` levels (kept within 1..6); fenced code is left alone."""
    lines = markdown.strip().split("\n")
    code = code_lines(lines)
    for index, line in enumerate(lines):
        match = _HEADING.match(line)
        if match and index not in code:
            level = max(1, min(6, len(match.group(1)) + shift))
            lines[index] = "#" * level + line[match.end(1) :]
    return "\n".join(lines)


def code_lines(lines: list[str]) -> set[int]:
    inside: str | None = None
    code: set[int] = set()
    for index, line in enumerate(lines):
        fence = _FENCE.match(line)
        if inside is None and fence:
            inside = fence.group(1)
            code.add(index)
        elif inside is not None:
            code.add(index)
            if (
                fence
                and fence.group(1)[0] == inside[0]
                and len(fence.group(1)) >= len(inside)
                and not line.strip()[len(fence.group(1)) :].strip()
            ):
                inside = None
    return code


def _outside_code(markdown: str) -> list[str]:
    lines = markdown.split("\n")
    code = code_lines(lines)
    return [line for index, line in enumerate(lines) if index not in code]


def embed(markdown: str) -> str:
    """Markdown placed inside a prompt, its headings pushed two levels down so that they never
    break the prompt's own ``##`` sections."""
    return shift_headings(markdown, 2)


def cap_at_sentence(text: str, limit: int) -> str:
    """At most ``limit`` characters, ending at a sentence boundary (never mid-sentence)."""
    text = text.strip()
    if len(text) <= limit:
        return text
    ends = [match.end() for match in _SENTENCE_END.finditer(text, 0, limit + 1) if match.end() <= limit]
    if ends:
        return text[: ends[-1]]
    space = text.rfind(" ", 0, limit)
    return (text[:space] if space > 0 else text[: limit - 1]).rstrip(",;: ") + "."
