"""The page in a real browser: Debian's headless Chromium driven by Playwright (never a
downloaded browser), against ``dialectic serve --offline``. Screenshots of each step are kept
as artifacts in $DIALECTIC_ARTIFACTS/web (else the test's tmp folder, ``screenshots/``)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.web.conftest import Served, serve

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)"
)
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
TIMEOUT_MS = 60_000
INJECTED = 'Design a cache <script>window.pwned = 1</script> <img src=x onerror="window.pwned = 2">'


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield launched
        launched.close()


@pytest.fixture
def server(isolated: Path, served_processes: list[Served]) -> Served:
    served = serve(isolated, env={"DIALECTIC_OFFLINE_LATENCY_MS": "60"})
    served_processes.append(served)
    return served


@pytest.fixture
def shots(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    root = os.environ.get("DIALECTIC_ARTIFACTS")
    folder = Path(root) / "web" / request.node.name if root else tmp_path / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def page(browser: Any, shots: Path) -> Iterator[Any]:
    context = browser.new_context(accept_downloads=True, viewport={"width": 1200, "height": 900})
    opened = context.new_page()
    opened.set_default_timeout(TIMEOUT_MS)
    opened.problems = []  # type: ignore[attr-defined]
    opened.on("pageerror", lambda error: opened.problems.append(str(error)))
    yield opened
    context.close()


def shot(page: Any, folder: Path, name: str) -> None:
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def answer_questions(page: Any, folder: Path) -> int:
    """Answer every batch of clarifying questions in the page; the number of batches."""
    batches = 0
    while True:
        page.wait_for_selector("#answers, #final")
        if page.query_selector("#final"):
            return batches
        batches += 1
        for box in page.query_selector_all("#answers textarea"):
            box.fill(f"answer {box.get_attribute('data-question')} <script>window.pwned = 3</script>")
        shot(page, folder, f"questions-{batches}")
        page.click("#send-answers")
        page.wait_for_selector("#answers", state="detached")


def test_start_watch_answer_give_feedback_and_download_in_the_page(
    page: Any, server: Served, shots: Path, isolated: Path
):
    page.goto(server.url)
    page.wait_for_selector("#debates")
    shot(page, shots, "empty-list")
    page.click("#nav-new")
    page.fill("#problem", INJECTED)
    page.fill("#rounds", "1")
    page.check("#clarify")
    shot(page, shots, "new-debate")
    page.click("#start")
    page.wait_for_selector("#live:not([hidden])")
    assert answer_questions(page, shots) >= 1
    page.wait_for_selector("#log div:has-text('run ended: completed')")  # the last event, in the page
    page.wait_for_selector('.status[data-status="completed"]')
    shot(page, shots, "completed")
    debate_id = page.url.rsplit("/", 1)[1]
    assert page.inner_text("#final h2").startswith("Final design")
    assert page.query_selector_all("#rounds details.contribution")
    assert "<script>" in page.inner_text("#problem")  # shown as text
    assert page.query_selector("#problem script, #problem img, #clarifications script") is None

    page.click("#thumbs-up")
    page.wait_for_selector('#thumbs-up[aria-pressed="true"]')
    record = json.loads((isolated / "debates" / f"{debate_id}.json").read_text())
    assert record["userFeedback"] == 1 and record["status"] == "completed"
    answers = [item["answer"] for group in record["clarifications"] for item in group["items"]]
    assert any(answer.startswith("answer q1") for answer in answers)

    with page.expect_download() as download:
        page.click("#download-report")
    report = Path(download.value.path()).read_text()
    assert download.value.suggested_filename == f"{debate_id}.md" and report.startswith(
        "# Debate: Design a cache"
    )
    with page.expect_download() as download:
        page.click("#download-json")
    assert json.loads(Path(download.value.path()).read_text())["userFeedback"] == 1

    page.click("#graph-details summary")
    page.wait_for_selector("#graph svg")
    shot(page, shots, "graph")
    assert page.evaluate("window.pwned") is None  # no injected script or handler ran
    assert page.problems == []


def test_a_script_in_a_model_reply_does_nothing(page: Any, server: Served, shots: Path, isolated: Path):
    """A debate file from elsewhere (the TypeScript tool's) whose replies carry HTML and a link
    that runs code: shown as text, nothing runs."""
    hostile = (
        '## Plan\n\n<script>window.pwned = 4</script>\n\n<img src=x onerror="window.pwned = 5">\n\n'
        "[docs](javascript:window.pwned=6)"
    )
    contribution = {
        "agentId": "agent-a",
        "agentRole": "architect",
        "type": "proposal",
        "content": hostile,
        "metadata": {"latencyMs": 1, "model": "m", "tokensUsed": 3},
    }
    record = {
        "id": "deb-hostile",
        "problem": "Design <b>x</b>",
        "status": "completed",
        "currentRound": 1,
        "rounds": [{"roundNumber": 1, "timestamp": "2025-01-01T00:00:00Z", "contributions": [contribution]}],
        "finalSolution": {
            "description": hostile,
            "tradeoffs": [],
            "recommendations": [],
            "confidence": 70,
            "synthesizedBy": "judge",
        },
        "createdAt": "2025-01-01T00:00:00Z",
        "updatedAt": "2025-01-01T00:00:00Z",
    }
    (isolated / "debates").mkdir(exist_ok=True)
    (isolated / "debates" / "deb-hostile.json").write_text(json.dumps(record))
    page.goto(server.url + "#/d/deb-hostile")
    page.wait_for_selector("#final")
    page.click("#rounds summary")
    shot(page, shots, "hostile-reply")
    assert page.query_selector("main script, main img, #final a[href^='javascript']") is None
    assert "<script>window.pwned = 4</script>" in page.inner_text("#final")
    page.click("#final >> text=docs")  # a link whose target was refused: nothing runs
    assert page.evaluate("window.pwned") is None
    assert page.problems == []


def test_stop_and_resume_from_the_page_and_filter_the_list(page: Any, server: Served, shots: Path):
    page.goto(server.url + "#/new")
    page.fill("#problem", "Design a job scheduler")
    page.fill("#rounds", "3")
    page.click("#start")
    page.wait_for_selector("#stop")
    page.wait_for_selector("#log div:has-text('tokens')")  # a call finished (the page's CSP forbids eval)
    page.click("#stop")
    # The page has had every event of the run (the status alone may come first, from the API)
    page.wait_for_selector("#log div:has-text('run ended: interrupted')")
    page.wait_for_selector('.status[data-status="interrupted"]')
    page.wait_for_selector("#pause-message")
    shot(page, shots, "stopped")
    live_tokens = page.inner_text("#live-summary").split(" · ")[-1]
    assert live_tokens in page.inner_text("h1 + p")  # every call counted once, live and saved
    page.click("#resume")
    page.wait_for_selector('.status[data-status="completed"]')
    shot(page, shots, "resumed")

    page.goto(server.url + "#/")
    page.wait_for_selector("#debates tbody tr")
    page.fill("#filter", "no such words")
    page.wait_for_selector("text=No debate matches.")
    page.fill("#filter", "scheduler")
    assert len(page.query_selector_all("#debates tbody tr")) == 1
    page.select_option("#status-filter", "failed")
    assert page.query_selector_all("#debates tbody tr") == []
    shot(page, shots, "filtered-list")
    assert page.problems == []
