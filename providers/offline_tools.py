"""How the offline model uses tools when a call offers them: it looks at the context directory
the way an engineer would — list the top folder, read the files that look most relevant to the
problem, search when it cannot list — and then quotes what it found in its answer.

Deterministic: the same conversation gives the same calls. At most ``MAX_TURNS`` turns.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, ToolMessage

MAX_TURNS = 3
READ_LINES = 150  # it reads the head of a file, as a careful engineer skims before reading on
_WORD = re.compile(r"[a-z][a-z0-9]{2,}")
_DOCS = (".md", ".rst", ".txt")
_SOURCE = (
    ".py",
    ".ts",
    ".js",
    ".go",
    ".java",
    ".rs",
    ".rb",
    ".cs",
    ".kt",
    ".sql",
    ".yaml",
    ".yml",
    ".json",
    ".toml",
)


@dataclass
class Findings:
    """What the tools have shown so far in a conversation."""

    files: list[str] = field(default_factory=list)  # paths seen, in order
    folders: list[str] = field(default_factory=list)
    listed: set[str] = field(default_factory=set)
    read: dict[str, str] = field(default_factory=dict)  # path -> content read
    searched: set[str] = field(default_factory=set)
    hits: list[tuple[str, int, str]] = field(default_factory=list)  # path, line, snippet


def findings(messages: Sequence[BaseMessage]) -> Findings:
    found = Findings()
    calls = {c["id"]: c for m in messages if isinstance(m, AIMessage) for c in m.tool_calls}
    for message in messages:
        if not isinstance(message, ToolMessage):
            continue
        call = calls.get(message.tool_call_id)
        name, args = (call["name"], call["args"]) if call else (None, {})
        result = _result(message.text)
        if name == "list_files":
            found.listed.add(str(args.get("path", ".")))
            for entry in result.get("entries", []):
                target = found.folders if entry.get("type") == "directory" else found.files
                if entry.get("path") not in target:
                    target.append(str(entry.get("path")))
        elif name == "file_read" and "content" in result:
            found.read[str(result.get("path") or args.get("path"))] = str(result["content"])
        elif name == "context_search":
            found.searched.add(str(args.get("term", "")))
            for hit in result.get("fileMatches", []):
                found.hits.append(
                    (str(hit.get("path")), int(hit.get("line", 0)), str(hit.get("snippet", "")))
                )
                if hit.get("path") not in found.files:
                    found.files.append(str(hit.get("path")))
    return found


def next_calls(
    offered: Iterable[str], messages: Sequence[BaseMessage], problem: str
) -> list[tuple[str, dict[str, Any]]]:
    """The tool calls to make this turn (name, arguments), several at once as real models do;
    none when it is time to answer."""
    names = set(offered)
    turn = sum(1 for m in messages if isinstance(m, AIMessage) and m.tool_calls)
    if turn >= MAX_TURNS:
        return []
    seen = findings(messages)
    words = _words(problem)
    if turn == 0 and "list_files" in names:
        return [("list_files", {"path": "."})]
    calls: list[tuple[str, dict[str, Any]]] = []
    if "file_read" in names:
        unread = [path for path in seen.files if path not in seen.read and not _binary_looking(path)]
        calls += [
            ("file_read", {"path": path, "end_line": READ_LINES})
            for path in _most_relevant(unread, words)[:2]
        ]
    if "list_files" in names and turn < MAX_TURNS - 1:  # what a last turn lists could not be read
        unlisted = [folder for folder in seen.folders if folder not in seen.listed]
        calls += [("list_files", {"path": folder}) for folder in _most_relevant(unlisted, words)[:2]]
    terms = [word for word in words if word not in seen.searched]
    if not calls and "context_search" in names and terms and not seen.hits:
        calls.append(("context_search", {"term": terms[0]}))
    return calls


def evidence(messages: Sequence[BaseMessage], problem: str) -> str:
    """A Markdown section quoting what the tools showed (empty when they showed nothing)."""
    seen = findings(messages)
    words = _words(problem)
    lines = []
    for path, content in list(seen.read.items())[:3]:
        number, text = _telling_line(content, words)
        if text:
            lines.append(f"- `{path}` line {number}: “{text}”")
        else:
            lines.append(f"- `{path}` is empty.")
    for path, number, snippet in seen.hits[:2]:
        lines.append(f"- `{path}` line {number} mentions it: “{_clip(snippet)}”")
    if not lines and seen.files:
        lines.append("- The context directory holds " + ", ".join(f"`{p}`" for p in seen.files[:5]) + ".")
    if not lines:
        return ""
    intro = "What I found in the context directory, and build on below:"
    return "\n".join(["## Evidence from the context", "", intro, "", *lines, ""])


def _result(text: str) -> dict[str, Any]:
    try:
        parsed = json.loads(text)
    except ValueError:
        return {}
    result = parsed.get("result") if isinstance(parsed, dict) else None
    return result if isinstance(result, dict) else {}


def _words(problem: str) -> list[str]:
    """The problem's longer words, longest first (ties in order of appearance)."""
    seen = dict.fromkeys(word for word in _WORD.findall(problem.lower()) if len(word) > 4)
    return sorted(seen, key=len, reverse=True)


def _most_relevant(paths: Sequence[str], words: Sequence[str]) -> list[str]:
    def score(path: str) -> tuple[int, int, int, str]:
        lower = path.lower()
        shared = sum(1 for word in words if word in lower)
        kind = 2 if lower.endswith(_DOCS) or "readme" in lower else 1 if lower.endswith(_SOURCE) else 0
        return (-shared, -kind, path.count("/"), path)

    return sorted(paths, key=score)


def _binary_looking(path: str) -> bool:
    return path.lower().endswith((".png", ".jpg", ".jpeg", ".gif", ".pdf", ".zip", ".gz", ".bin", ".exe"))


def _telling_line(content: str, words: Sequence[str]) -> tuple[int, str]:
    """The first line that mentions the problem, else the first line with words in it."""
    numbered = [(i, line.strip()) for i, line in enumerate(content.splitlines(), 1) if line.strip()]
    for number, line in numbered:
        if any(word in line.lower() for word in words) and _WORD.search(line.lower()):
            return number, _clip(line)
    for number, line in numbered:
        if _WORD.search(line.lower()):
            return number, _clip(line)
    return 0, ""


def _clip(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
