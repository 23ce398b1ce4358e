"""What the page shows, read from the same places as ``dialectic list``/``show``/``report``:
the checkpoint store (status, pending questions, usage) and the debate JSON (contributions,
final design, failures). Model text and the problem are rendered as Markdown with HTML shown as
text and no link that runs code (markdown-it: ``html`` off, its link validation on)."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from dialectic.configs.settings import RunSettings
from dialectic.errors import DialecticError, InputError
from dialectic.runner import store as stores
from dialectic.runner.catalog import list_debates, show_debate
from dialectic.runner.run import read_stored
from dialectic.transcript.files import read_record
from dialectic.transcript.schema import DebateRecord

if TYPE_CHECKING:
    from markdown_it import MarkdownIt


@cache
def _parser() -> MarkdownIt:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False}).enable("table")


def render_markdown(text: str) -> str:
    return str(_parser().render(text))


def debate_rows(db: str | None, live: list[str]) -> list[dict[str, Any]]:
    """The rows of ``dialectic list``; an empty list while there is no store yet."""
    from dataclasses import asdict

    url = stores.db_url(db)
    if not stores.is_postgres(url):
        try:
            stores.require_store(url)
        except InputError:
            return []
    return [{**asdict(row), "live": row.id in live} for row in list_debates(db)]


def debate_view(db: str | None, debate_id: str, *, live: bool) -> dict[str, Any]:
    """Everything the debate page shows; NotFound when neither the store nor ./debates has it."""
    stores.validate_debate_id(debate_id)
    detail = _detail(db, debate_id)
    path = stores.debate_json_path(debate_id)
    record = read_record(path) if path.is_file() else None
    if detail is None and record is None and not live:  # (a run just started has written nothing yet)
        raise NotFound(f"no debate {debate_id!r} in the store or in {path.parent.resolve()}")
    return {
        "id": debate_id,
        "live": live,
        "detail": detail,
        "record": record.dump() if record else None,
        "html": _rendered(record) if record else None,
        "graph": _graph_options(db, debate_id),
    }


class NotFound(DialecticError):
    """No such debate (HTTP 404)."""


def _detail(db: str | None, debate_id: str) -> dict[str, Any] | None:
    url = stores.db_url(db)
    try:
        stores.require_store(url, debate_id)
        return show_debate(db, debate_id).as_dict()
    except InputError:  # not in this store (a JSON file from elsewhere, the TypeScript tool's)
        return None


def _rendered(record: DebateRecord) -> dict[str, Any]:
    """HTML of the problem, the final design and each contribution, by round and position."""
    final = record.finalSolution
    return {
        "problem": render_markdown(record.problem),
        "final": render_markdown(final.description) if final else None,
        "rounds": [[render_markdown(c.content) for c in r.contributions] for r in record.rounds],
    }


def _graph_options(db: str | None, debate_id: str) -> dict[str, bool]:
    """Whether the debate's graph has the clarification and steering nodes (its stored settings)."""
    url = stores.db_url(db)
    try:
        stores.require_store(url, debate_id)
        with stores.open_store(url, read_only=True) as store:
            stored = read_stored(store, debate_id)
        if stored is None:
            return {"clarify": False, "steer": False}
        settings, _ = RunSettings.from_stored(stored.settings_json)
    except DialecticError:
        return {"clarify": False, "steer": False}
    return {
        "clarify": settings.clarify or settings.config.debate.interactiveClarifications,
        "steer": settings.steer,
    }


@cache
def mermaid(clarify: bool, steer: bool) -> str:
    """The debate graph as ``dialectic graph --format mermaid`` draws it (built-in nodes)."""
    from dialectic.graphs.debate import GraphOptions, drawing

    return drawing(GraphOptions(clarify=clarify, steer=steer)).draw_mermaid()
