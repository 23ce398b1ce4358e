"""The problem's major requirements: its sentences that say must, shall, required, critical,
essential, needs to or has to (not "does not need to"). Agents map each one to a design element;
the judge and evaluators check them."""

from __future__ import annotations

import re

_KEYWORDS = re.compile(
    r"\b(must|shall|required|requires|critical|essential|(?:needs?|has|have)\s+to)\b", re.IGNORECASE
)
# "does not need to", "doesn't have to", "no need to", "is not required", "not critical": the
# opposite of a requirement
_NEGATED = re.compile(
    r"(?:\bnot|n't|\bno)\s+(?:(?:needs?|has|have)\s+to|required|critical|essential)\b", re.IGNORECASE
)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9*\"'(])")
_MARKUP = re.compile(r"^\s*(?:[-*+]|\d+[.)]|#+)\s*")
_LABEL = re.compile(r"^[A-Z][A-Za-z &/]{0,30}:\s+(?=\S)")  # "Requirements: Students must ..."


def major_requirements(problem: str) -> list[str]:
    found: list[str] = []
    for line in problem.splitlines():
        line = _MARKUP.sub("", line).strip()
        for sentence in _SENTENCE_END.split(line):
            sentence = _LABEL.sub("", sentence.strip().replace("**", ""))
            if sentence and _KEYWORDS.search(_NEGATED.sub("", sentence)) and sentence not in found:
                found.append(sentence)
    return found


def requirements_list(problem: str) -> str:
    items = major_requirements(problem)
    if not items:
        return "- (None stated as must/shall; cover the problem's goals.)"
    return "\n".join(f"- {item}" for item in items)
