"""What ``dialectic serve`` refuses: other hosts, missing tokens, other sites, large bodies,
ids that are not ids; what it never sends: keys and live HTML."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from dialectic.web.security import MAX_BODY, is_loopback
from dialectic.web.views import render_markdown
from tests.web.conftest import BASE, PROBLEM, make_client, run_to_end, start


@pytest.mark.parametrize("bad", ["a..b", ".hidden", "x" * 101, "a b", "ü"])
def test_ids_are_validated_before_they_reach_a_file_or_the_store(client: TestClient, bad: str):
    for path in ("", "/json", "/report", "/events"):
        response = client.get(f"/api/debates/{bad}{path}")
        assert response.status_code == 400, (bad, path)
        assert "invalid debate id" in response.json()["error"]
    assert client.post(f"/api/debates/{bad}/feedback", json={"value": 1}).status_code == 400


def test_a_path_in_an_id_never_reaches_the_filesystem(client: TestClient, isolated: Path):
    (isolated / "secret.json").write_text('{"id": "x", "problem": "secret", "rounds": []}')
    for path in (
        "/api/debates/..%2Fsecret/json",
        "/api/debates/%2e%2e/json",
        "/static/..%2F..%2Fsecret.json",
    ):
        response = client.get(path)
        assert response.status_code in (400, 404), path
        assert "secret" not in response.text


def test_only_loopback_host_names_are_served_on_loopback(client: TestClient):
    assert client.get("/api/debates").status_code == 200
    assert client.get("/api/debates", headers={"host": "localhost:8000"}).status_code == 200
    refused = client.get("/api/debates", headers={"host": "evil.example:8000"})  # DNS rebinding
    assert refused.status_code == 403 and "loopback" in refused.json()["error"]


def test_a_token_is_needed_on_every_request_and_the_first_url_sets_a_cookie(isolated: Path):
    with make_client(token="s3cret-token", loopback=False) as client:
        for path in ("/", "/static/app.js", "/api/debates", "/api/debates/x/events"):
            assert client.get(path, headers={"host": "192.0.2.1:8000"}).status_code == 401, path
        assert client.get("/api/debates?token=wrong").status_code == 401
        assert client.get("/api/debates", headers={"authorization": "Bearer s3cret-token"}).status_code == 200
        first = client.get("/?token=s3cret-token")
        assert first.status_code == 200
        cookie = first.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
        assert client.get("/api/debates").status_code == 200  # the cookie from now on
        client.cookies.clear()
        assert client.post("/api/debates", json={"problem": PROBLEM}).status_code == 401


def test_the_printed_url_works_in_a_browser_with_the_cookie_of_an_earlier_server(isolated: Path):
    """Cookies are per host, not per port: an earlier server's is sent to this one too."""
    with make_client(token="new-token", loopback=False) as client:
        client.cookies.set("dialectic_token", "old-token")
        first = client.get("/?token=new-token")
        assert first.status_code == 200 and "dialectic_token=new-token" in first.headers["set-cookie"]
        assert client.get("/api/debates").status_code == 200
        assert client.get("/api/debates?token=wrong").status_code == 401


def test_websockets_are_refused_before_any_route(isolated: Path):
    with make_client(token="s3cret-token", loopback=False) as client:
        for path in ("/static/app.js", "/api/debates/x/events"):
            with pytest.raises(WebSocketDisconnect) as refused, client.websocket_connect(path):
                pass
            assert refused.value.code == 1008


def test_changes_come_only_from_the_page_itself_as_json(client: TestClient):
    other_site = client.post(
        "/api/debates", json={"problem": PROBLEM}, headers={"origin": "https://evil.example"}
    )
    assert other_site.status_code == 403
    as_form = client.post("/api/debates", content=b"problem=x", headers={"content-type": "text/plain"})
    assert as_form.status_code == 415
    same = client.post("/api/debates", json={"problem": PROBLEM, "rounds": 1}, headers={"origin": BASE})
    assert same.status_code == 201
    run_to_end(client, same.json()["id"])


def test_request_bodies_are_capped(client: TestClient):
    huge = json.dumps({"problem": "x" * (MAX_BODY + 10)})
    response = client.post("/api/debates", content=huge, headers={"content-type": "application/json"})
    assert response.status_code == 413 and "larger than" in response.json()["error"]
    big_problem = client.post("/api/debates", json={"problem": "y" * 300_000})
    assert big_problem.status_code == 400 and "DIALECTIC_MAX_PROBLEM_BYTES" in big_problem.json()["error"]


def test_every_response_forbids_inline_scripts_and_framing(client: TestClient):
    for path in ("/", "/api/debates", "/api/debates/x..y"):
        headers = client.get(path).headers
        assert "script-src 'self'" in headers["content-security-policy"]
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert headers["x-content-type-options"] == "nosniff" and headers["referrer-policy"] == "no-referrer"


def test_api_keys_never_reach_the_browser(client: TestClient, monkeypatch: pytest.MonkeyPatch):
    key = "sk-test-never-in-a-response-0123456789"
    monkeypatch.setenv("OPENAI_API_KEY", key)
    debate_id = start(client, clarify=True)
    seen = [client.get(f"/api/debates/{debate_id}/events").text]
    seen += [client.get(path).text for path in ("/api/config", "/api/debates", f"/api/debates/{debate_id}")]
    assert all(key not in text for text in seen)


def test_markdown_is_rendered_with_html_shown_as_text_and_no_script_links():
    html = render_markdown(
        "# Title\n\n<script>alert(1)</script>\n\n<img src=x onerror=alert(2)>\n\n"
        "[click](javascript:alert(3)) [ok](https://example.com)\n\n| a | b |\n|---|---|\n| 1 | 2 |\n"
    )
    assert "<h1>Title</h1>" in html and "<table>" in html
    assert "<script" not in html and "<img" not in html and "&lt;script&gt;" in html
    assert 'href="javascript' not in html and 'href="https://example.com"' in html


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("::1", True), ("localhost", True), ("0.0.0.0", False), ("192.168.1.2", False)],
)
def test_which_addresses_are_loopback(host: str, loopback: bool):
    assert is_loopback(host) is loopback
