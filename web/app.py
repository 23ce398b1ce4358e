"""The FastAPI app of ``dialectic serve``: a JSON API over the runner, catalog and store, the
events of live debates as server-sent events, and the page (static files shipped in the
package: no build step, no CDN)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any

import anyio
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict
from starlette.types import Receive, Scope, Send

from dialectic.errors import ConfigError, DialecticError
from dialectic.runner import store as stores
from dialectic.runner.feedback import parse_verdict, set_feedback
from dialectic.web import views
from dialectic.web.events import ENDED
from dialectic.web.forms import ServerOptions, StartForm, config_document, read_start
from dialectic.web.runs import Runs
from dialectic.web.security import Guard

KEEP_ALIVE_SECONDS = 15.0
SHUTDOWN_WAIT_SECONDS = 60.0  # for the calls in flight of running debates to finish and be saved


class NotRunning(DialecticError):
    """Stop asked of a debate this server does not run (HTTP 409)."""


class ResumeForm(BaseModel):
    model_config = ConfigDict(extra="forbid")

    answers: dict[str, str] | None = None
    note: str | None = None
    maxTokens: int | None = None
    maxCost: float | None = None


class FeedbackForm(BaseModel):
    model_config = ConfigDict(extra="forbid")

    value: int | str


def static_folder() -> Path:
    return Path(str(resources.files("dialectic.web").joinpath("static")))


def create_app(options: ServerOptions, guard: Guard) -> FastAPI:
    runs = Runs(options.db)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await asyncio.to_thread(runs.stop_all, SHUTDOWN_WAIT_SECONDS)  # Ctrl-C: drain, as the CLI

    app = FastAPI(title="dialectic", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.runs = runs
    app.add_middleware(_Guarded, guard=guard)

    @app.exception_handler(DialecticError)
    async def dialectic_error(request: Request, exc: DialecticError) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, status_code=_status_of(exc))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        return JSONResponse(
            {"error": f"invalid request: {where}: {first.get('msg', 'invalid')}"}, status_code=400
        )

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(static_folder() / "index.html", media_type="text/html")

    @app.get("/api/config")
    def get_config() -> dict[str, Any]:
        return config_document(options)

    @app.get("/api/graph")
    def get_graph(clarify: bool = False, steer: bool = False) -> dict[str, str]:
        return {"mermaid": views.mermaid(clarify, steer)}

    @app.get("/api/debates")
    def list_debates() -> list[dict[str, Any]]:
        return views.debate_rows(options.db, runs.live_ids())

    @app.post("/api/debates", status_code=201)
    def start(form: StartForm) -> dict[str, Any]:
        chosen = read_start(form, options)
        runs.start(chosen.problem, chosen.settings, chosen.debate_id)
        return {"id": chosen.debate_id, "notices": chosen.notices}

    @app.get("/api/debates/{debate_id}")
    def get_debate(debate_id: str) -> dict[str, Any]:
        stores.validate_debate_id(debate_id)
        return views.debate_view(options.db, debate_id, live=runs.is_live(debate_id))

    @app.post("/api/debates/{debate_id}/resume", status_code=202)
    def resume(debate_id: str, form: ResumeForm) -> dict[str, Any]:
        runs.resume(
            debate_id, answers=form.answers, note=form.note, max_tokens=form.maxTokens, max_cost=form.maxCost
        )
        return {"id": debate_id}

    @app.post("/api/debates/{debate_id}/stop", status_code=202)
    def stop(debate_id: str) -> dict[str, Any]:
        stores.validate_debate_id(debate_id)
        if not runs.stop(debate_id):
            raise NotRunning(f"debate {debate_id} is not running in this server")
        return {"id": debate_id}

    @app.post("/api/debates/{debate_id}/feedback")
    def feedback(debate_id: str, form: FeedbackForm) -> dict[str, Any]:
        verdict = parse_verdict(str(form.value))
        if runs.is_live(debate_id):  # its run rewrites the JSON: one of the two writes would be lost
            raise stores.DebateBusy(f"debate {debate_id} is running; give your feedback when it has stopped")
        set_feedback(debate_id, verdict)
        return {"id": debate_id, "userFeedback": verdict}

    @app.get("/api/debates/{debate_id}/json")
    def download_json(debate_id: str) -> FileResponse:
        path = stores.debate_json_path(debate_id)
        if not path.is_file():
            raise views.NotFound(f"no debate file for {debate_id!r}")
        return FileResponse(path, media_type="application/json", filename=f"{debate_id}.json")

    @app.get("/api/debates/{debate_id}/report")
    def download_report(debate_id: str) -> PlainTextResponse:
        from dialectic.report.markdown import render_report
        from dialectic.transcript.files import read_record

        path = stores.debate_json_path(debate_id)
        if not path.is_file():
            raise views.NotFound(f"no debate file for {debate_id!r}")
        return PlainTextResponse(
            render_report(read_record(path)),
            media_type="text/markdown; charset=utf-8",
            headers={"content-disposition": f'attachment; filename="{debate_id}.md"'},
        )

    @app.get("/api/debates/{debate_id}/events")
    async def events(debate_id: str, request: Request, after: int = 0) -> StreamingResponse:
        stores.validate_debate_id(debate_id)
        last = request.headers.get("last-event-id", "")
        after = int(last) if last.isdigit() else after
        return _EventStream(_stream(runs, debate_id, after))

    app.mount("/static", StaticFiles(directory=static_folder()), name="static")
    return app


async def _stream(runs: Runs, debate_id: str, after: int) -> AsyncGenerator[str, None]:
    """The run's events after ``after`` (the backlog first), until it ends; a debate not run by
    this process gets one ``idle`` event (the page then reads its state from the API)."""
    run = runs.latest(debate_id)
    if run is None:
        yield _sse({"event": "idle", "seq": 0})
        return
    backlog, queue, ended = run.hub.subscribe(after)
    try:
        for item in backlog:
            yield _sse(item)
            if item.get("event") == ENDED:
                return
        if ended:  # the viewer has seen the end already (``after`` is past it)
            yield _sse({"event": "idle", "seq": after})
            return
        while True:
            try:
                item = await asyncio.wait_for(queue.get(), KEEP_ALIVE_SECONDS)
            except TimeoutError:
                yield ": keep-alive\n\n"
                continue
            yield _sse(item)
            if item.get("event") == ENDED:
                return
    finally:
        run.hub.unsubscribe(queue)


class _EventStream(StreamingResponse):
    """Server-sent events whose generator is closed however the response ends. A viewer who
    leaves cancels the response, maybe while the generator waits at a ``yield``: it would stay
    there, subscribed, its queue growing, until the garbage collector found it."""

    def __init__(self, events: AsyncGenerator[str, None]) -> None:
        super().__init__(events, media_type="text/event-stream", headers={"x-accel-buffering": "no"})
        self.events = events

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            with anyio.CancelScope(shield=True):
                await self.events.aclose()


def _sse(item: dict[str, Any]) -> str:
    return f"id: {item.get('seq', 0)}\nevent: message\ndata: {json.dumps(item)}\n\n"


def _status_of(exc: DialecticError) -> int:
    if isinstance(exc, views.NotFound):
        return 404
    if isinstance(exc, stores.DebateBusy | stores.DebateExists | NotRunning):
        return 409
    if isinstance(exc, ConfigError):
        return 422
    return 400


class _Guarded:
    """The guard (web/security.py) as Starlette middleware: outermost, before any route."""

    def __init__(self, app: Any, guard: Guard) -> None:
        self.guarded = guard.middleware(app)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.guarded(scope, receive, send)
