"""The agent tools as LangChain tools, under the TypeScript tool's names and argument names.

Every tool answers with a JSON string, ``{"status": "success", "result": {...}}`` or
``{"status": "error", "error": "..."}``, and never raises: a tool call is the model's move, and a
wrong move (a bad path, a missing argument) must come back to it as a message it can act on, not
end its turn.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import NotRequired, TypedDict

from langchain_core.tools import BaseTool, StructuredTool
from pydantic import BaseModel, Field, ValidationError

from dialectic.configs.schema import TOOL_NAMES
from dialectic.tools.debate import ContributionRecord, DebateMatch, search_debate
from dialectic.tools.files import MAX_LIST_ENTRIES, file_read, list_files
from dialectic.tools.index import FileMatch, index_for
from dialectic.tools.sandbox import ContextDirectory, ToolError

_MAX_TERM_CHARS = 500

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ToolContext:
    """What the tools of one debate can see: the ``--context`` folder (None without the option)
    and a callable returning the contributions made so far (None when there is no debate yet)."""

    directory: ContextDirectory | None = None
    contributions: Callable[[], Sequence[ContributionRecord]] | None = None


class ContextSearchResult(TypedDict):
    term: str
    matches: list[DebateMatch]  # the debate so far (the TypeScript tool's key)
    fileMatches: list[FileMatch]  # the context directory, best first
    note: NotRequired[str]


def build_tools(names: Iterable[str], context: ToolContext) -> list[BaseTool]:
    """The tools named (duplicates once, in the order given); ``ValueError`` for an unknown name."""
    wanted = list(dict.fromkeys(names))
    for name in wanted:
        if name not in _BUILDERS:
            raise ValueError(f"unknown tool {name!r}; the known tools are {', '.join(TOOL_NAMES)}")
    return [_BUILDERS[name](context) for name in wanted]


class _ListFilesArguments(BaseModel):
    path: str = Field(description="A folder relative to the context directory; '.' is its top.")


class _FileReadArguments(BaseModel):
    path: str = Field(description="A file relative to the context directory, as list_files shows it.")
    start_line: int | None = Field(
        default=None, ge=1, description="First line to read (1-based); default the first line."
    )
    end_line: int | None = Field(
        default=None, ge=1, description="Last line to read (inclusive); default the last line."
    )


class _ContextSearchArguments(BaseModel):
    term: str = Field(description="The word or phrase to look for (case-insensitive).")


def _list_files_tool(context: ToolContext) -> BaseTool:
    def run(path: str) -> str:
        return _respond("list_files", lambda: list_files(_directory(context, "list_files"), path))

    return _structured_tool(
        run,
        "list_files",
        "List one folder of the context directory (the user's code and documents), without going "
        "into subfolders. Give 'path' relative to the context directory ('.' is its top). Each entry "
        "has its path (usable with list_files and file_read), its type ('file' or 'directory') and, "
        f"for files, the size in bytes. Hidden and git-ignored entries are not shown; at most "
        f"{MAX_LIST_ENTRIES} entries are returned, with a count of the rest.",
        _ListFilesArguments,
    )


def _file_read_tool(context: ToolContext) -> BaseTool:
    def run(path: str, start_line: int | None = None, end_line: int | None = None) -> str:
        return _respond(
            "file_read", lambda: file_read(_directory(context, "file_read"), path, start_line, end_line)
        )

    return _structured_tool(
        run,
        "file_read",
        "Read a UTF-8 text file of the context directory. Give 'path' relative to the context "
        "directory; 'start_line' and 'end_line' (1-based, inclusive) read part of it. At most 64 KB "
        "comes back per call: the result says which lines it holds and how many the file has, so a "
        "cut file can be read on with start_line. Binary files, files over 5 MB, hidden and "
        "git-ignored files cannot be read.",
        _FileReadArguments,
    )


def _context_search_tool(context: ToolContext) -> BaseTool:
    def run(term: str) -> str:
        return _respond("context_search", lambda: _search(context, term))

    return _structured_tool(
        run,
        "context_search",
        "Search the debate so far and the text files of the context directory for a word or phrase "
        "(case-insensitive). Returns the contributions that mention it (round, agent, type and the "
        "text around each mention) and the best file hits (path, line number and the text around "
        "the match); read more of a file with file_read and start_line.",
        _ContextSearchArguments,
    )


_BUILDERS: dict[str, Callable[[ToolContext], BaseTool]] = {
    "context_search": _context_search_tool,
    "file_read": _file_read_tool,
    "list_files": _list_files_tool,
}


def _structured_tool(
    run: Callable[..., str], name: str, description: str, arguments: type[BaseModel]
) -> BaseTool:
    return StructuredTool.from_function(
        func=run,
        name=name,
        description=description,
        args_schema=arguments,
        # Arguments that fail the schema come back as an error result rather than an exception.
        handle_validation_error=_invalid_arguments,
    )


def _search(context: ToolContext, term: str) -> ContextSearchResult:
    if not term.strip():
        raise ToolError("term is empty: give a word or phrase to search for")
    if len(term) > _MAX_TERM_CHARS:
        raise ToolError(f"term is longer than {_MAX_TERM_CHARS} characters: search for a shorter phrase")
    records = context.contributions() if context.contributions is not None else ()
    result = ContextSearchResult(term=term, matches=search_debate(records, term), fileMatches=[])
    if context.directory is None:
        result["note"] = "The debate was started without --context, so only the debate was searched."
    else:
        index = index_for(context.directory)
        result["fileMatches"] = index.search(term)
        stats = index.stats()
        if not stats.complete:
            result["note"] = (
                f"The context directory is too large to index whole: only {stats.files:,} of its files "
                "were searched. Use list_files and file_read to look further."
            )
    return result


def _directory(context: ToolContext, tool: str) -> ContextDirectory:
    if context.directory is None:
        raise ToolError(
            f"{tool} is unavailable: the debate was started without --context DIR, so there are no files"
        )
    return context.directory


def _respond(tool: str, produce: Callable[[], Mapping[str, object]]) -> str:
    try:
        return _success(produce())
    except ToolError as error:
        return _error(str(error))
    except Exception:
        # A bug, not the model's fault; its text may hold absolute paths, so the model gets only
        # the kind of failure and the log gets the rest.
        logger.warning("the %s tool failed", tool, exc_info=True)
        return _error(f"{tool} failed unexpectedly; try other arguments or another tool")


def _invalid_arguments(error: ValidationError) -> str:
    problems = "; ".join(
        f"{'.'.join(str(part) for part in problem['loc'])}: {problem['msg']}"
        if problem["loc"]
        else "the arguments must be a JSON object"
        for problem in error.errors()
    )
    return _error(f"invalid arguments: {problems}")


def _success(result: Mapping[str, object]) -> str:
    return json.dumps({"status": "success", "result": result}, ensure_ascii=False)


def _error(message: str) -> str:
    return json.dumps({"status": "error", "error": message}, ensure_ascii=False)
