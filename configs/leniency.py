"""Leniency where the TypeScript tool is lenient: what it quietly accepts in a config file runs
here too, with a warning that says what we do instead. The models themselves stay strict
(``extra="forbid"``); this pass over the parsed document, before validation, is the one place
that decides what is forgiven:

- an unknown key anywhere (found from the models' field names): ignored, with "did you mean";
- ``synthesisMethod: "voting" | "merge"``: the judge synthesizes, as TypeScript does;
- an agent's unknown role without a ``promptsDir``: it uses the architect prompts, as TypeScript
  does (the role's name is kept: it is what the transcript and ``--agents`` show).

In strict mode (``--strict``, or ``"strict": true`` in the file) each of these is an error instead.
What makes a debate meaningless (no agents, a wrong type, duplicate ids, an impossible value)
is an error in both modes: the models report it.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from dialectic.configs.loader import model_in, unknown_key_message
from dialectic.configs.schema import BUILTIN_ROLES, UNKNOWN_ROLE_PROMPTS, DebateConfig
from dialectic.errors import ConfigError

# synthesisMethod values the TypeScript tool accepts and synthesizes with the judge all the same.
JUDGE_SYNTHESIS_ALIASES = ("voting", "merge")
STRICT_KEY = "strict"


@dataclass(frozen=True)
class Forgiven:
    """One thing the lenient mode forgives: what is wrong, what is done instead, and (in the
    strict mode's error) what is allowed."""

    problem: str
    instead: str
    allowed: str = ""

    def warning(self) -> str:
        return f"{self.problem}; {self.instead}"

    def error(self) -> str:
        return f"{self.problem}{self.allowed}"


def screen(
    document: dict[str, Any], model: type[BaseModel], source: str, *, strict: bool, kind: str = "config"
) -> tuple[dict[str, Any], list[str]]:
    """The document as the models accept it, and a warning per change; in strict mode (or when
    the document says ``"strict": true``) a ConfigError naming every change instead."""
    forgiven: list[Forgiven] = []
    cleaned = _known_keys_only(document, model, (), forgiven)
    if model is DebateConfig:
        cleaned = _debate_values(cleaned, forgiven)
    if forgiven and (strict or document.get(STRICT_KEY) is True):
        problems = "; ".join(item.error() for item in forgiven)
        raise ConfigError(
            f'{kind} error in {source}: {problems} (strict mode: --strict or "strict": true; '
            "without it these are warnings)"
        )
    return cleaned, [item.warning() for item in forgiven]


def _known_keys_only(value: Any, model: type[BaseModel], loc: tuple[Any, ...], out: list[Forgiven]) -> Any:
    """``value`` without the keys ``model`` lacks, recursively through nested models and lists
    of them (mappings of free keys, such as extension options, are left as they are)."""
    if not isinstance(value, dict):
        return value  # a wrong type: the model reports it
    fields = model.model_fields
    kept: dict[str, Any] = {}
    for key, item in value.items():
        if key not in fields:
            hinted = unknown_key_message(list(fields), loc, str(key), list_allowed=False)
            listed = unknown_key_message(list(fields), loc, str(key))
            out.append(Forgiven(hinted, "ignored", listed.removeprefix(hinted)))
            continue
        inner = model_in(fields[key].annotation)
        if inner is not None and isinstance(item, list):
            item = [_known_keys_only(one, inner, (*loc, key, index), out) for index, one in enumerate(item)]
        elif inner is not None:
            item = _known_keys_only(item, inner, (*loc, key), out)
        kept[key] = item
    return kept


def _debate_values(document: dict[str, Any], out: list[Forgiven]) -> dict[str, Any]:
    debate = document.get("debate")
    if isinstance(debate, dict) and debate.get("synthesisMethod") in JUDGE_SYNTHESIS_ALIASES:
        method = debate["synthesisMethod"]
        out.append(
            Forgiven(
                f"debate.synthesisMethod: {method!r} is not supported here",
                "the judge synthesizes the final solution (as the TypeScript tool does)",
                " (use 'judge')",
            )
        )
        document = {**document, "debate": {**debate, "synthesisMethod": "judge"}}
    agents = document.get("agents")
    roles = f" (use one of {', '.join(BUILTIN_ROLES)}"
    for index, agent in enumerate(agents if isinstance(agents, list) else []):
        if role := _unknown_role(agent):
            out.append(
                Forgiven(
                    f"agents[{index}].role: unknown role {role!r}{_did_you_mean(role)}",
                    f"the agent uses the {UNKNOWN_ROLE_PROMPTS} prompts (as the TypeScript tool does; "
                    "a promptsDir gives a custom role its own)",
                    f"{roles}, or give the agent a promptsDir for a custom role)",
                )
            )
    if role := _unknown_role(document.get("judge")):
        out.append(
            Forgiven(
                f"judge.role: unknown role {role!r}{_did_you_mean(role)}",
                "ignored: the judge has its own prompts",
                f"{roles})",
            )
        )
    return document


def _unknown_role(member: Any) -> str | None:
    """The member's role if it is neither built in nor backed by a promptsDir."""
    if not isinstance(member, dict) or member.get("promptsDir"):
        return None
    role = member.get("role")
    return role if isinstance(role, str) and role and role not in BUILTIN_ROLES else None


def _did_you_mean(role: str) -> str:
    close = difflib.get_close_matches(role, BUILTIN_ROLES, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
