"""Agent tools that read the user's code and documents (``--context DIR``) and search the debate.

``build_tools`` makes the LangChain tools; the rest is the pieces they are made of, usable and
testable on their own. Names and argument names follow the TypeScript dialectic's tools.
"""

from dialectic.configs.schema import TOOL_NAMES
from dialectic.tools.debate import ContributionRecord, DebateMatch, search_debate
from dialectic.tools.files import FileContent, FileEntry, FolderListing, file_read, list_files
from dialectic.tools.index import ContextIndex, FileMatch, IndexStats, index_for
from dialectic.tools.registry import ContextSearchResult, ToolContext, build_tools
from dialectic.tools.sandbox import ContextDirectory, SandboxPath, ToolError

__all__ = [
    "TOOL_NAMES",
    "ContextDirectory",
    "ContextIndex",
    "ContextSearchResult",
    "ContributionRecord",
    "DebateMatch",
    "FileContent",
    "FileEntry",
    "FileMatch",
    "FolderListing",
    "IndexStats",
    "SandboxPath",
    "ToolContext",
    "ToolError",
    "build_tools",
    "file_read",
    "index_for",
    "list_files",
    "search_debate",
]
