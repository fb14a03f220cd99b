"""optuna-dashboard, the tool Optuna users already run, on a sweep: every page of its JSON API answers, and no
value it shows is cut short (it cuts a JSON value at 1024 characters; the sweep stores what is larger as text or
in its trial files)."""

import json
import wsgiref.util

import pytest

from sweeps.store.factory import open_storage

optuna_dashboard = pytest.importorskip("optuna_dashboard")

PLOTS = ("contour", "slice", "parallel_coordinate", "rank", "edf", "timeline")
"""Every plot the dashboard draws on the server for a single-objective study: only with plotly installed (its
``plotlypy_is_available``); without it the page draws them in the browser from the study's JSON."""


def _get(app, path: str, query: str = "") -> tuple[int, bytes]:
    """(HTTP status, body) of GET ``path`` on the WSGI ``app``."""
    environ: dict = {}
    wsgiref.util.setup_testing_defaults(environ)
    environ["PATH_INFO"], environ["QUERY_STRING"] = path, query
    status = []
    body = b"".join(app(environ, lambda s, headers, exc_info=None: status.append(s)))
    return int(status[0].split()[0]), body


def _whole(value: str) -> bool:
    """Whether an attr as the dashboard shows it is whole: a JSON value that parses, or text that is not cut JSON."""
    if value[:1] not in "[{":
        return True
    try:
        json.loads(value)
    except ValueError:
        return False
    return True


def test_every_page_answers_and_no_value_is_cut(swept_tiny, tmp_path):
    out = swept_tiny.copy(tmp_path) / "results"
    app = optuna_dashboard.wsgi(open_storage(None, out / "tiny"))
    code, body = _get(app, "/api/meta")
    assert code == 200
    plots = PLOTS if json.loads(body)["plotlypy_is_available"] else ()
    code, body = _get(app, "/api/studies")
    assert code == 200
    listed = json.loads(body)["study_summaries"]
    assert [s["study_name"] for s in listed] == ["tiny"]
    study_id = listed[0]["study_id"]
    code, body = _get(app, f"/api/studies/{study_id}", "after=0")
    assert code == 200
    study = json.loads(body)
    shown = study["user_attrs"] + [a for t in study["trials"] for a in t["user_attrs"]]
    assert {a["key"] for a in study["user_attrs"]} >= {"space", "grid", "baseline", "study", "settings"}
    assert [a["key"] for a in shown if not _whole(a["value"])] == []
    assert study["objective_names"] == ["val_mse_over_var_y"]
    for t in study["trials"]:  # the learning curve, as a few points: the dashboard's chart of it
        assert t["state"] != "Complete" or len(t["intermediate_values"]) >= 2
    for page in ("param_importances", *(f"plot/{p}" for p in plots)):
        code, body = _get(app, f"/api/studies/{study_id}/{page}")
        assert code == 200, (page, body[:300])
        json.loads(body)
    code, body = _get(app, f"/csv/{study_id}")
    assert code == 200 and body.count(b"\n") >= len(study["trials"])
