"""Security of the dashboard: writes need a token and the same origin, text is escaped, bodies
are bounded, and no request value reaches a file path."""

from __future__ import annotations

import ast
import http.client
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

import consilience.web
from tests.web._support import live_server
from tests.web.conftest import seed_small_registry, small_runs

UNSAFE = ("POST", "PUT", "PATCH", "DELETE")
SAMPLE = "decision-tree"
LEAKS = ("root:x:0:0", "[build-system]", "def create_app(", "from __future__", "BEGIN PRIVATE")
TRAVERSALS = ("../", "%2e%2e%2f", "%252e%252e%252f", "..%5c", "..\\", "//etc/passwd", "/%2f..")
XSS = "<script>alert(1)</script>"


def _concrete(path: str, value: str = SAMPLE) -> str:
    return re.sub(r"\{[^}]+\}", value, path)


def _walk(routes: Any) -> Iterator[Any]:
    """Every route of ``app.routes``, descending into included routers."""
    for route in routes:
        included = getattr(route, "original_router", None)  # FastAPI's lazily included routers
        if included is not None:
            yield from _walk(included.routes)
        elif getattr(route, "path", None) is not None:
            yield route


def _routes(app: Any) -> list[tuple[str, set[str]]]:
    out = []
    for route in _walk(app.routes):
        methods = getattr(route, "methods", None)
        if methods:
            out.append((route.path, set(methods)))
    return out


def test_the_route_walk_sees_every_documented_path(client: Any) -> None:
    walked = {p for p, _ in _routes(client.app)}
    documented = set(client.get("/openapi.json").json()["paths"])
    assert documented
    assert {p.replace("{name}", "{name:path}") for p in documented} <= walked
    assert {"/experiments", "/static/{name:path}", "/openapi.json"} <= walked


def test_every_route_refuses_anonymous_writes(client: Any) -> None:
    routes = _routes(client.app)
    writes = [(p, m) for p, ms in routes for m in ms if m in UNSAFE]
    assert {p for p, _ in writes} >= {"/api/plans/{name:path}/apply",
                                      "/api/experiments/{name:path}/status"}
    checked = 0
    for path, methods in routes:
        url = _concrete(path)
        for method in sorted(set(UNSAFE) | methods):
            if method in ("GET", "HEAD", "OPTIONS"):
                continue
            answer = client.request(method, url, json={"status": "accepted"})
            assert answer.status_code in (401, 403), (method, url, answer.status_code)
            form = client.request(method, url, data={"status": "accepted", "token": "cns_x"})
            assert form.status_code in (401, 403), (method, url, form.status_code)
            checked += 1
    assert checked >= len(routes)
    record = client.get("/api/experiments/decision-tree").json()["experiment"]
    assert record["status"] == "running" and record["planned_seeds"] == 5


def test_every_read_route_answers_without_changing_anything(client: Any) -> None:
    log_before = client.app.state.dashboard.version()
    for path, methods in _routes(client.app):
        if "GET" not in methods:
            continue
        answer = client.get(_concrete(path), follow_redirects=False)
        assert answer.status_code in (200, 307, 404), (path, answer.status_code)
    assert client.app.state.dashboard.version() == log_before


def test_writes_need_a_valid_token(client: Any, token: str) -> None:
    url = "/api/plans/decision-tree/apply"
    missing = client.post(url)
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"].startswith("Bearer")
    assert client.post(url, headers={"Authorization": "Bearer cns_wrong"}).status_code == 403
    assert client.post(url, headers={"Authorization": f"Basic {token}"}).status_code == 401
    assert client.post(url, data={"token": "cns_wrong"}).status_code == 403
    assert client.post(url, headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_a_registry_without_tokens_accepts_no_write(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from consilience.registry import Registry
    from consilience.web import create_app

    url = tmp_path / "plain.db"
    with Registry(url, create=True, actor="t") as reg:
        reg.add_experiment("base", no_baseline=True)
        assert not reg.has_token()
    with TestClient(create_app(url)) as c:
        answer = c.post("/api/experiments/base/status", json={"status": "complete"},
                        headers={"Authorization": "Bearer cns_anything"})
        assert answer.status_code == 403


@pytest.mark.parametrize("headers", [
    {"Origin": "http://evil.example"},
    {"Origin": "null"},
    {"Origin": "https://testserver"},
    {"Sec-Fetch-Site": "cross-site"},
    {"Sec-Fetch-Site": "same-site"},
    {"Referer": "http://evil.example/page"},
    {"Origin": "http://testserver", "Sec-Fetch-Site": "cross-site"},
])
def test_cross_site_writes_are_refused_even_with_the_token(client: Any, token: str,
                                                           headers: dict[str, str]) -> None:
    answer = client.post("/api/plans/decision-tree/apply",
                         headers={"Authorization": f"Bearer {token}", **headers})
    assert answer.status_code == 403
    assert "refused" in answer.json()["detail"]


def test_same_origin_writes_with_the_token_pass(client: Any, token: str) -> None:
    answer = client.post("/api/plans/decision-tree/apply",
                         headers={"Authorization": f"Bearer {token}",
                                  "Origin": "http://testserver", "Sec-Fetch-Site": "same-origin",
                                  "Referer": "http://testserver/experiments/decision-tree"})
    assert answer.status_code == 200


def test_large_bodies_are_refused(client: Any, token: str) -> None:
    auth = {"Authorization": f"Bearer {token}"}
    big = {"status": "accepted", "note": "x" * 100_000}
    assert client.post("/api/experiments/decision-tree/status", json=big,
                       headers=auth).status_code == 413
    assert client.post("/api/experiments/decision-tree/status", json=big).status_code == 413

    def chunks() -> Iterator[bytes]:
        for _ in range(40):
            yield b"x" * 4096

    streamed = client.post("/api/experiments/decision-tree/status", content=chunks(),
                           headers={**auth, "Content-Type": "application/json"})
    assert streamed.status_code == 413
    form = client.post("/api/experiments/decision-tree/status",
                       content=b"token=" + b"y" * 70_000,
                       headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert form.status_code == 413
    assert client.get("/api/experiments/decision-tree").json()["experiment"]["status"] \
        == "running"


def test_responses_carry_security_headers(client: Any) -> None:
    for url in ("/experiments", "/api/experiments", "/static/style.css", "/nope"):
        headers = client.get(url).headers
        assert "script-src 'self'" in headers["content-security-policy"]
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"


def test_only_the_configured_hosts_are_answered(example_copy: tuple[Path, str]) -> None:
    from fastapi.testclient import TestClient

    from consilience.web.app import LOCAL_HOSTS, create_app

    app = create_app(example_copy[0], allowed_hosts=LOCAL_HOSTS)
    with TestClient(app, base_url="http://127.0.0.1:8000") as c:
        assert c.get("/api/progress").status_code == 200
        assert c.get("/api/progress", headers={"Host": "evil.example"}).status_code == 400


@pytest.fixture
def hostile(tmp_path: Path) -> tuple[Path, str]:
    """A registry whose names and texts are HTML and script."""
    from consilience.registry import Registry

    url = tmp_path / "hostile.db"
    with Registry(url, create=True, actor="t") as reg:
        reg.add_experiment("base", change="<b>bold</b>", no_baseline=True, status="complete")
        reg.add_experiment(XSS, baseline="base", status="running", min_effect=0.01,
                           hypothesis="<img src=x onerror=alert(2)>",
                           change='"><svg onload=alert(3)>',
                           moderators={"model_family": "<i>family</i>"}, planned_seeds=3)
        runs = small_runs(XSS)
        runs["task"] = "<script>alert(4)</script>" + runs["task"]
        reg.import_runs(runs, origin="hostile")
        token = reg.create_token()
    return url, token


def test_user_text_is_escaped_on_every_page(hostile: tuple[Path, str]) -> None:
    from fastapi.testclient import TestClient

    from consilience.web import create_app

    with TestClient(create_app(hostile[0])) as c:
        pages = ["/experiments", f"/experiments/{quote(XSS, safe='')}", "/leaderboard",
                 "/leaderboard?model_family=" + quote("<i>family</i>"), "/progress", "/alerts",
                 "/curves", f"/experiments/{quote(XSS, safe='/')}"]
        for url in pages:
            answer = c.get(url)
            assert answer.status_code == 200, url
            text = answer.text
            for raw in (XSS, "<script>alert(4)", "<img src=x", "<svg onload", "<i>family",
                        "<b>bold"):
                assert raw not in text, (url, raw)
        detail = c.get(f"/experiments/{quote(XSS, safe='')}").text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in detail
        assert "&lt;img src=x onerror=alert(2)&gt;" in detail
        assert "&lt;script&gt;alert(4)&lt;/script&gt;task0" in detail  # in the forest SVG too
        assert len(re.findall(r"<script\b", detail)) == 1  # the dashboard's own app.js
        api = c.get(f"/api/experiments/{quote(XSS, safe='')}")
        assert api.headers["content-type"].startswith("application/json")
        assert api.json()["experiment"]["name"] == XSS


def _leaks(body: str) -> bool:
    return any(marker in body for marker in LEAKS)


def _path_params(app: Any) -> list[str]:
    prefixes = []
    for path, methods in _routes(app):
        if "GET" in methods and "{" in path:
            prefixes.append(path[: path.index("{")])
    return prefixes


def test_path_traversal_is_refused_through_the_test_client(client: Any) -> None:
    prefixes = _path_params(client.app)
    assert {"/static/", "/experiments/", "/api/experiments/", "/api/plans/"} <= set(prefixes)
    for prefix in [*prefixes, "/"]:
        for payload in TRAVERSALS:
            for target in ("etc/passwd", "pyproject.toml", "app.py", "web/app.py"):
                url = prefix + payload * 6 + target
                answer = client.get(url)
                assert answer.status_code in (400, 404), (url, answer.status_code)
                assert not _leaks(answer.text), url


def test_path_traversal_is_refused_on_the_wire(example_copy: tuple[Path, str]) -> None:
    """Raw request targets, sent without any client-side normalisation."""
    from consilience.web import create_app

    app = create_app(example_copy[0])
    prefixes = [*_path_params(app), "/"]
    with live_server(app) as base:
        host, port = base.removeprefix("http://").split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        try:
            for prefix in prefixes:
                for payload in TRAVERSALS:
                    for target in ("etc/passwd", "pyproject.toml", "app.py"):
                        raw = prefix + payload * 6 + target
                        conn.request("GET", raw)
                        answer = conn.getresponse()
                        body = answer.read().decode("utf-8", errors="replace")
                        assert answer.status in (400, 404), (raw, answer.status)
                        assert not _leaks(body), raw
            conn.request("GET", "/static/style.css")
            answer = conn.getresponse()
            assert answer.status == 200 and "--accent" in answer.read().decode()
        finally:
            conn.close()


def test_the_web_package_touches_no_shell_and_opens_no_request_path() -> None:
    root = Path(consilience.web.__file__).parent
    for path in root.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] + [getattr(node, "module", "") or ""]
                assert not any(n.split(".")[0] in ("subprocess", "shutil") for n in names), path
            if isinstance(node, ast.Call):
                func = node.func
                name = getattr(func, "id", None) or getattr(func, "attr", None)
                assert name not in ("open", "system", "popen", "FileResponse",
                                    "StaticFiles"), (path, name)


def test_seeded_registry_has_a_token(tmp_path: Path) -> None:
    assert seed_small_registry(str(tmp_path / "x.db")).startswith("cns_")
