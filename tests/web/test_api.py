"""The JSON API and the pages, through FastAPI's TestClient (httpx), on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests.web.conftest import seed_small_registry, small_runs

API_PATHS = ("/api/experiments", "/api/experiments/{name}", "/api/experiments/{name}/status",
             "/api/plans/{name}", "/api/plans/{name}/apply", "/api/leaderboard",
             "/api/progress", "/api/alerts", "/api/curves")


def test_openapi_schema_lists_every_api_route(client: Any) -> None:
    schema = client.get("/openapi.json").json()
    assert schema["info"]["title"] == "consilience dashboard"
    paths = set(schema["paths"])
    for path in API_PATHS:
        assert path in paths, path
    assert "post" in schema["paths"]["/api/plans/{name}/apply"]
    # Pages are not part of the API.
    assert not any(p.startswith(("/experiments", "/leaderboard", "/static")) for p in paths)


def test_experiments_api_lists_statuses_and_verdicts(client: Any) -> None:
    data = client.get("/api/experiments").json()
    assert data["metric"] == "accuracy"
    assert data["current_baseline"] == "random-forest"
    by_name = {e["name"]: e for e in data["experiments"]}
    assert len(by_name) == 11
    assert by_name["random-forest"]["status"] == "accepted"
    assert by_name["random-forest"]["verdict"] == "improvement, not general"
    assert by_name["bernoulli-nb"]["verdict"] == "regression"
    assert by_name["lda-shrinkage"]["verdict"] is None
    assert data["summary"]["headline"].startswith("8 candidates compared on accuracy")


def test_experiment_api_gives_comparison_finding_power_and_plan(client: Any) -> None:
    data = client.get("/api/experiments/decision-tree").json()
    assert data["experiment"]["name"] == "decision-tree"
    comp = data["comparison"]
    assert comp["k"] == 12 and len(comp["tasks"]) == 12
    assert comp["verdict"] == "regression"
    assert data["finding"]["next_step"].startswith("Next: do not ship it")
    assert data["power"]["planned_seeds"] == 5
    assert data["plan"]["experiment"] == "decision-tree"
    assert data["plannable"] is True
    missing = client.get("/api/experiments/lda-shrinkage").json()
    assert missing["comparison"] is None
    assert "no complete runs" in missing["comparison_error"]


def test_the_page_and_the_api_show_the_same_numbers(client: Any) -> None:
    data = client.get("/api/experiments/random-forest").json()
    page = client.get("/experiments/random-forest").text
    assert f"{data['comparison']['estimate']:.4f}" in page
    assert data["finding"]["what"] in page


def test_leaderboard_filters_by_moderator_and_status(client: Any) -> None:
    full = client.get("/api/leaderboard").json()
    assert full["n_total"] == 8 and len(full["rows"]) == 8
    assert set(full["moderators"]) == {"lifecycle_stage", "model_family"}
    assert "tree ensemble" in full["choices"]["model_family"]
    trees = client.get("/api/leaderboard", params={"model_family": "tree ensemble"}).json()
    assert {r["experiment"] for r in trees["rows"]} == {"random-forest", "extra-trees",
                                                        "gradient-boosting"}
    assert trees["filters"] == {"model_family": "tree ensemble"}
    both = client.get("/api/leaderboard",
                      params={"model_family": "tree ensemble", "status": "rejected"}).json()
    assert [r["experiment"] for r in both["rows"]] == ["gradient-boosting"]
    page = client.get("/leaderboard", params={"model_family": "linear"}).text
    assert "ridge-classifier" in page and "svc-rbf" not in page
    bad = client.get("/api/leaderboard", params={"colour": "red"})
    assert bad.status_code == 400 and "unknown leaderboard filter" in bad.json()["detail"]


def test_progress_api_has_lineage_and_living_analysis(client: Any) -> None:
    data = client.get("/api/progress").json()
    assert data["current"] == "random-forest"
    assert [s["baseline"]["name"] for s in data["steps"]] == ["logistic-regression",
                                                              "random-forest"]
    proto = data["protocols"][0]
    assert proto["name"] == "random-forest-vs-linear" and len(proto["sha256"]) == 64
    assert len(proto["history"]) == 5
    assert [h["n_runs"] for h in proto["history"]] == sorted(h["n_runs"] for h in proto["history"])


def test_alerts_api_lists_underpowered_and_inconclusive(client: Any) -> None:
    data = client.get("/api/alerts").json()
    kinds = {a["experiment"]: a["kind"] for a in data["alerts"]}
    assert kinds["decision-tree"] == "underpowered"
    assert kinds["k-nearest-neighbours"] == "inconclusive"
    assert data["power_threshold"] == 0.8


def test_curves_api_explains_when_there_is_no_curve(client: Any) -> None:
    data = client.get("/api/curves").json()
    assert data["available"] is False
    assert "only one size per task" in data["explanation"]
    assert "LCDB" in client.get("/curves").text


def test_curves_page_fits_curves_and_prices_labels(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from consilience.registry import Registry
    from consilience.web import create_app

    url = tmp_path / "curves.db"
    seed_small_registry(str(url))
    sizes = [100, 200, 400, 800, 1600, 3200]
    rows = []
    for seed in range(3):
        for n in sizes:
            rows.append({"experiment": "cand", "arm": "candidate", "task": "curve-task",
                         "seed": seed, "metric": "accuracy", "size_train": n,
                         "external_id": f"curve-{seed}-{n}",
                         "value": 0.9 - 0.5 * n ** -0.5 + 0.002 * seed, "n_eval": 500})
    with Registry(url) as reg:
        reg.import_runs(pd.DataFrame(rows), origin="curve")
    with TestClient(create_app(url)) as c:
        data = c.get("/api/curves").json()
        assert data["available"] is True
        assert data["curves"][0]["task"] == "curve-task" and data["curves"][0]["anchors"] == 6
        assert data["fits"][0]["current_size"] == 3200
        assert data["decision_note"].startswith("Enter the cost")
        priced = c.get("/api/curves", params={"label_cost": 0.05}).json()
        assert priced["data_value"]["label_cost"] == 0.05
        page = c.get("/curves", params={"label_cost": 0.05}).text
        assert "<svg" in page and "one more label adds" in page
        assert c.get("/api/curves", params={"label_cost": -1}).status_code == 422


def test_apply_plan_changes_the_planned_seeds_and_is_audited(client: Any, token: str) -> None:
    before = client.get("/api/experiments/decision-tree").json()
    assert before["power"]["planned_seeds"] == 5
    answer = client.post("/api/plans/decision-tree/apply",
                         headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["experiment"]["planned_seeds"] == body["plan"]["seeds"] == 2
    after = client.get("/api/experiments/decision-tree").json()
    assert after["power"]["planned_seeds"] == 2
    assert after["history"][0]["action"] == "plan.apply"
    assert after["history"][0]["actor"] == "dashboard"
    assert "planned_seeds 5 → 2" in after["history"][0]["summary"]


def test_apply_plan_to_a_finished_experiment_is_refused(client: Any, token: str) -> None:
    answer = client.post("/api/plans/random-forest/apply",
                         headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 400
    assert "design is settled" in answer.json()["detail"]


def test_set_status_with_json_and_with_a_form(client: Any, token: str) -> None:
    answer = client.post("/api/experiments/decision-tree/status", json={"status": "rejected",
                                                                        "note": "too slow"},
                         headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["experiment"]["status"] == "rejected"
    form = client.post("/api/experiments/lda-shrinkage/status",
                       data={"status": "running", "token": token}, follow_redirects=False)
    assert form.status_code == 303
    assert form.headers["location"] == "/experiments/lda-shrinkage?done=status"
    assert client.get("/api/experiments/lda-shrinkage").json()["experiment"]["status"] \
        == "running"
    page = client.get(form.headers["location"]).text
    assert "The status was changed." in page
    bad = client.post("/api/experiments/decision-tree/status", json={"status": "shipped"},
                      headers={"Authorization": f"Bearer {token}"})
    assert bad.status_code == 400 and "status" in bad.json()["detail"]
    wrong_type = client.post("/api/experiments/decision-tree/status", json={"status": 3},
                             headers={"Authorization": f"Bearer {token}"})
    assert wrong_type.status_code == 400


def test_unknown_experiments_are_404_on_pages_and_api(client: Any) -> None:
    assert client.get("/api/experiments/nope").status_code == 404
    page = client.get("/experiments/nope")
    assert page.status_code == 404 and "No experiment named" in page.text
    assert client.get("/api/plans/nope").status_code == 404


@pytest.mark.postgres
def test_api_smoke_on_postgresql(pg_url: str) -> None:
    from fastapi.testclient import TestClient

    from consilience.web import create_app

    token = seed_small_registry(pg_url, names=("cand", "other"))
    with TestClient(create_app(pg_url)) as c:
        listing = c.get("/api/experiments").json()
        assert {e["name"] for e in listing["experiments"]} == {"base", "cand", "other"}
        board = c.get("/api/leaderboard").json()
        assert {r["experiment"] for r in board["rows"]} == {"cand", "other"}
        assert [r["experiment"] for r in
                c.get("/api/leaderboard", params={"model_family": "cnn"}).json()["rows"]] \
            == ["other"]
        detail = c.get("/api/experiments/cand").json()
        assert detail["comparison"]["k"] == 4
        assert c.get("/api/progress").json()["current"] == "base"
        assert c.get("/api/alerts").status_code == 200
        for page in ("/experiments", "/experiments/cand", "/leaderboard", "/progress",
                     "/alerts", "/curves"):
            assert c.get(page).status_code == 200, page
        assert c.post("/api/plans/cand/apply").status_code == 401
        done = c.post("/api/plans/cand/apply", headers={"Authorization": f"Bearer {token}"})
        assert done.status_code == 200, done.text
        assert c.get("/api/experiments/cand").json()["history"][0]["action"] == "plan.apply"


def test_small_runs_helper_is_two_armed() -> None:
    frame = small_runs("x")
    assert set(frame["arm"]) == {"baseline", "candidate"}
