"""The report page's explorable trials (sweeps.report.explorer) and its table of contents, on the
tiny sweep the report tests share; the page's script itself in headless Chromium, where there is
one."""

import dataclasses
import html
import json
import os
import math
import re
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from optuna.distributions import CategoricalDistribution as C
from optuna.distributions import FloatDistribution as F

from sweeps.report import explorer, files
from sweeps.report.style import fmt
from sweeps.results import frames as tidy
from sweeps.results.handle import open_sweep
from sweeps.store.records import trial_attrs

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
NAMESPACES = {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}
"""The only addresses a page may spell: XML namespaces' names, which nothing loads."""


@pytest.fixture(scope="module")
def explored(swept_tiny):
    """(the optuna study, its frames, the report page's text) of the shared tiny sweep."""
    sweep = open_sweep(str(swept_tiny.folder / "tiny.py"), out=swept_tiny.folder / "results")
    frames = tidy.build(sweep.study, sweep.definition, sweep.files)
    page = (swept_tiny.folder / "results" / "tiny" / files.REPORT_NAME).read_text()
    return sweep.study, frames, page


def rows_of(text: str) -> dict[int, list[str]]:
    """The trial table's rows, by trial number: each cell's text, in order."""
    table = re.search(r'<table class="compact explore" id="trials">(.*?)</table>', text, re.S)
    rows = re.findall(r'<tr id="trial-(\d+)">(.*?)</tr>', table.group(1))
    return {int(n): [html.unescape(re.sub(r"<[^>]+>", "", c))
                     for c in re.findall(r"<td[^>]*>(.*?)</td>", row)] for n, row in rows}


def data_of(text: str) -> dict:
    block = re.search(rf'<script type="application/json" id="{explorer.DATA_ID}">(.*?)</script>',
                      text, re.S)
    return json.loads(block.group(1))


def cell_text(param: str, value, dist) -> str:
    """A setting as a cell should read it, from the value Optuna stored."""
    if hasattr(dist, "choices"):
        return tidy.value_label(param, value)
    if isinstance(value, float) and not value.is_integer():
        return f"{value:.3g}"
    return str(int(value))


def test_every_trial_has_a_row_with_its_numbers_and_only_the_settings_its_config_reads(explored):
    opt, frames, page = explored
    rows = rows_of(page)
    trials = opt.get_trials(deepcopy=False)
    assert sorted(rows) == sorted(t.number for t in trials)
    thead = re.search(r'id="trials"><thead>(.*?)</thead>', page).group(1)
    head = re.findall(r"<th[^>]*>(.*?)</th>", thead)
    space = [p for p in frames.space if any(p in t.params for t in trials)]
    assert head == [*explorer.COLUMNS, *space]
    for t in trials:
        cells = rows[t.number]
        mode = t.user_attrs.get("mode") or t.state.name.lower()
        assert cells[:4] == [str(t.number), mode, fmt(t.value), fmt(trial_attrs(t.user_attrs).get("seconds"))]
        for p, cell in zip(space, cells[4:]):
            expected = cell_text(p, t.params[p], frames.space[p]) if p in t.params else "·"
            assert cell == expected, (t.number, p)
    # best value first, as the top-10 table it replaces was
    values = [t.value for t in sorted(trials, key=lambda t: (t.value, t.number))]
    assert [fmt(v) for v in values] == [cells[2] for cells in rows.values()]


def test_a_setting_the_config_does_not_read_is_left_out_and_full_batch_is_kept():
    space = {"optimizer": C(["adam", "momentum"]), "momentum": F(0.5, 0.99),
             "batch_size": C([None, 8])}
    adam = {"params_optimizer": "adam", "params_momentum": 0.9, "params_batch_size": math.nan}
    assert explorer.settings_of(adam, space) == {"optimizer": "adam", "batch_size": None}
    held = {"params_optimizer": "momentum", "params_momentum": 0.9, "params_batch_size": 8.0}
    assert explorer.settings_of(held, space) == {"optimizer": "momentum", "momentum": 0.9,
                                                 "batch_size": 8}
    assert explorer.setting_text("batch_size", None, space["batch_size"]) == "full"


def test_the_embedded_data_parses_and_holds_each_trials_settings_fit_and_curve(explored):
    opt, frames, page = explored
    data = data_of(page)
    trials = {t.number: t for t in opt.get_trials(deepcopy=False)}
    space = data["columns"][len(explorer.COLUMNS):]
    assert [a["name"] for a in data["axes"]] == [*space, "mode", "value"]
    assert [r[0] for r in data["trials"]] == list(rows_of(page))  # the table's order
    for number, state, mode, value, seconds, settings in data["trials"]:
        t = trials[number]
        assert (state, mode) == (t.state.name, t.user_attrs.get("mode"))
        assert value == pytest.approx(t.value, rel=1e-3)
        assert seconds == pytest.approx(trial_attrs(t.user_attrs)["seconds"], rel=1e-2)
        for p, code in zip(space, settings):
            dist = frames.space[p]
            if p not in t.params:
                assert code is None
            elif hasattr(dist, "choices"):
                assert dist.choices[code] == t.params[p]
            else:
                assert code == pytest.approx(t.params[p], rel=1e-3)
    fit, curves = data["fit"], data["curves"]
    lo, hi = fit["packed"]
    step = (hi - lo) / (explorer.LEVELS - 1)
    grid = frames.predictions
    for number in trials:
        want = grid[(grid["source"] == "trial") & (grid["number"] == number)]["y"].to_numpy()
        got = explorer.unpack(fit["nets"][str(number)], lo, hi)
        inside = np.isfinite(want) & (want > lo) & (want < hi)
        assert np.all(np.abs(got[inside] - want[inside]) <= step / 2 + 1e-12)  # none, if diverged
        assert np.array_equal(np.isnan(got), np.isnan(want))
        run = curves["runs"][str(number)]
        c = frames.curves
        rows = c[(c["source"] == "trial") & (c["number"] == number)]
        for split in ("train", "val"):
            part = rows[rows["split"] == split]
            assert explorer.steps_of(run["steps"]) == part["step"].tolist()
            want = np.log10(part["rel"].to_numpy())
            got = explorer.unpack(run[split], *curves["packed"])
            inside = (want > curves["packed"][0]) & (want < curves["packed"][1])
            half = (curves["packed"][1] - curves["packed"][0]) / (explorer.LEVELS - 1) / 2
            assert np.all(np.abs(got[inside] - want[inside]) <= half + 1e-12)
    target = explorer.unpack(fit["target"], lo, hi)
    true = grid[grid["source"] == "target"]["y"].to_numpy()
    assert np.abs(target - true).max() <= step / 2 + 1e-12
    assert len(fit["points"]["x"]) == len(frames.data) and "baseline" in fit["nets"]


@given(st.lists(st.one_of(st.floats(-1e3, 1e3), st.just(math.nan)), max_size=40),
       st.floats(-100, 100), st.floats(1e-3, 100))
def test_pack_keeps_each_number_within_half_a_level_and_clips_the_rest(values, lo, width):
    hi = lo + width
    text = explorer.pack(values, lo, hi)
    assert len(text) == 2 * len(values) and set(text) <= set(explorer.ALPHABET)
    got = explorer.unpack(text, lo, hi)
    want = np.clip(np.asarray(values, dtype=float), lo, hi)
    assert np.array_equal(np.isnan(got), np.isnan(want))
    ok = ~np.isnan(want)
    half = width / (explorer.LEVELS - 1) / 2
    assert np.all(np.abs(got[ok] - want[ok]) <= half * (1 + 1e-9) + 1e-12)


def test_the_page_loads_nothing_from_outside(explored):
    page = explored[2]
    # an address in an attribute that loads it (data: is inline, # is in the page)
    assert not re.search(r'''(src|href|action)\s*=\s*["']?\s*(?!data:)(\w+:|//)''', page, re.I)
    assert set(re.findall(r"https?://[^\s\"'<>)]*", page)) <= NAMESPACES
    assert not re.search(r"url\(\s*['\"]?(?!#|data:)", page)  # CSS and SVG: only the page's own ids
    for call in ("fetch(", "XMLHttpRequest", "import(", "<link", "@import", "<iframe",
                 "sendBeacon"):
        assert call not in page, call
    assert explorer.script() in page  # the script inlined whole


def test_the_contents_link_to_every_section_and_every_id_is_unique(explored):
    page = explored[2]
    contents = re.search(r'<nav class="toc" id="contents">(.*?)</nav>', page, re.S).group(1)
    links = re.findall(r'<a href="#([^"]+)">([^<]+)</a>', contents)
    sections = re.findall(r'<section id="([^"]+)"><h2>(\d+)\. ([^<]+)</h2>', page)
    assert [(i, t) for i, _, t in sections] == [(i, html.unescape(t)) for i, t in links]
    assert [int(n) for _, n, _ in sections] == list(range(1, len(sections) + 1))
    ids = re.findall(r'\sid="([^"]+)"', page)
    assert len(ids) == len(set(ids))
    assert "every-trial" in dict(links) and "top 10" not in page.lower()


def test_a_failed_trial_has_a_row_with_its_state_and_no_numbers(explored):
    _, frames, _ = explored
    failed = frames.trials.iloc[[0]].assign(number=999, state="FAIL", value=math.nan, mode=None,
                                           error="RuntimeError: boom")
    more = dataclasses.replace(frames, trials=pd.concat([frames.trials, failed], ignore_index=True))
    text = explorer.table_html(more) + explorer._json_block(explorer.explorer_data(more))
    cells = rows_of(text)[999]
    assert cells[1:3] == ["fail", "–"] and 'title="RuntimeError: boom"' in text
    assert list(rows_of(text))[-1] == 999  # no value: last
    row = data_of(text)["trials"][-1]
    assert row[:4] == [999, "FAIL", None, None]


HARNESS = """<script>
addEventListener("load", () => setTimeout(function () {
  const out = {};
  const rows = () => Array.from(document.querySelectorAll("#trials tbody tr[id^='trial-']"))
    .filter(r => !r.hidden).map(r => +r.id.slice(6));
  const heads = document.querySelectorAll("#trials thead th");
  const filter = document.getElementById("trial-filter");
  const type = text => { filter.value = text; filter.dispatchEvent(new Event("input")); };
  out.ready = document.getElementById("trials").dataset.ready;
  out.initial = rows();
  heads[0].click(); out.up = rows();
  heads[0].click(); out.down = rows();
  heads[2].click();
  type("MODE_FILTER"); out.mode = rows();
  type("lr<0.01"); out.lr = rows();
  type(""); out.count = document.getElementById("trial-count").textContent;
  document.getElementById("trial-OPEN").click();
  const detail = document.getElementById("detail-OPEN");
  const drawn = sel => detail.querySelector(sel).getAttribute("d").length > 10;
  out.fit = !!detail && drawn("svg.fit path.pred");
  out.curve = !!detail && drawn("svg.curve path.val");
  out.above = detail && detail.previousElementSibling.id;
  const svg = document.querySelector("#pcp svg");
  const axis = document.querySelector("line.axis[data-axis=mode]");
  const r = axis.getBoundingClientRect(), x = r.left + r.width / 2;
  const y = r.bottom - LEVEL * r.height;  // the best trial's mode's level (fit at the bottom)
  const at = (kind, y) => svg.dispatchEvent(
    new PointerEvent(kind, {clientX: x, clientY: y, bubbles: true, pointerId: 1}));
  at("pointermove", y);
  out.hot = Array.from(document.querySelectorAll("#trials tr.hot")).map(r => +r.id.slice(6));
  at("pointerdown", y - 12); at("pointermove", y + 12); at("pointerup", y + 12);
  out.brushed = rows();
  out.faded = document.querySelectorAll("#pcp path.out").length;
  const pre = document.createElement("pre");
  pre.id = "harness";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
}, 0));
</script>"""


REQUIRE_CHROMIUM = "SWEEPS_REQUIRE_CHROMIUM"
"""Set (as .ci/run does, which installs Chromium) to make a missing Chromium a failure instead of a skip."""


def test_the_pages_script_sorts_filters_opens_a_trial_and_brushes_in_chromium(explored, tmp_path):
    if CHROMIUM is None:
        if os.environ.get(REQUIRE_CHROMIUM):
            pytest.fail(f"{REQUIRE_CHROMIUM} is set, but no chromium is on PATH")
        pytest.skip("needs headless Chromium (Debian's chromium package); .ci/run installs it")
    opt, frames, page = explored
    done = tidy.complete(frames.trials)
    best = done.sort_values(["value", "number"]).iloc[0]
    mode = best["mode"]
    level = list(explorer.BEST_FIRST).index(mode) / (len(explorer.BEST_FIRST) - 1)
    harness = (HARNESS.replace("MODE_FILTER", f"mode={mode}")
               .replace("OPEN", str(int(best["number"]))).replace("LEVEL", str(level)))
    path = tmp_path / "page.html"
    path.write_text(page.replace("</body>", harness + "</body>"))
    dom = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                          "--virtual-time-budget=10000", "--window-size=1280,2000", "--dump-dom",
                          path.as_uri()], capture_output=True, text=True, timeout=120).stdout
    out = json.loads(html.unescape(re.search(r'<pre id="harness">(.*?)</pre>', dom, re.S).group(1)))
    numbers = sorted(frames.trials["number"])
    assert out["ready"] == "1" and out["initial"] == list(rows_of(page))
    assert out["up"] == numbers and out["down"] == numbers[::-1]
    assert out["mode"] == sorted(done[done["mode"] == mode]["number"],
                                 key=lambda n: (done.set_index("number").loc[n, "value"], n))
    by_value = done.sort_values(["value", "number"])
    low = by_value[by_value["params_lr"] < 0.01]
    assert out["lr"] == [int(n) for n in low["number"]]
    assert out["count"] == f"showing {len(done)} of {len(done)} trials"
    assert out["fit"] and out["curve"] and out["above"] == f"trial-{int(best['number'])}"
    modes = done.set_index("number")["mode"]
    assert len(out["hot"]) == 1 and modes[out["hot"][0]] == mode
    assert set(out["brushed"]) == set(done[done["mode"] == mode]["number"])
    assert out["faded"] == len(frames.trials) - len(out["brushed"])  # the lines left out, greyed


def test_shown_numbers_keep_every_trial_up_to_the_bound_then_the_best_half_and_a_spread_to_the_worst():
    trials = pd.DataFrame({"number": range(10), "value": [0.5, 0.1, np.nan, 0.3, 0.9, 0.2, 0.8, 0.4, 0.7, 0.6]})
    assert tidy.shown_numbers(trials, most=10) is None
    shown = tidy.shown_numbers(trials, most=6)
    order = [1, 5, 3, 7, 0, 9, 8, 6, 4, 2]  # by value, the trial without one last
    assert len(shown) == 6 and set(order[:3]) <= shown  # the best half
    assert {7, 8, 2} <= shown  # the rest spread evenly, from its best to its last (no value)


def test_a_sweep_past_the_bound_shows_its_best_and_a_spread_and_reads_only_their_files(
    explored, swept_tiny, monkeypatch
):
    opt, every, _ = explored
    sweep = open_sweep(str(swept_tiny.folder / "tiny.py"), out=swept_tiny.folder / "results")
    read = []
    original = type(sweep.files).read
    monkeypatch.setattr(type(sweep.files), "read", lambda self, n: read.append(n) or original(self, n))
    monkeypatch.setattr(tidy, "SHOWN", 4)
    frames = tidy.build(sweep.study, sweep.definition, sweep.files)
    assert len(frames.shown) == 4 and len(frames.trials) == len(every.trials) > 4
    assert frames.shown == tidy.shown_numbers(every.trials, most=4)
    assert set(read) == {*frames.shown, "baseline"}  # no other trial's file is opened
    curves = set(frames.curves["number"].dropna().astype(int))
    done = set(every.trials.loc[every.trials["state"] == "COMPLETE", "number"])
    assert set(every.curves["number"].dropna().astype(int)) == done  # every completed trial's curve
    assert curves == frames.shown & done and curves  # only the shown ones'
    assert set(frames.predictions["number"].dropna().astype(int)) == curves
    pd.testing.assert_frame_equal(frames.trials, every.trials)  # counted whole
    text = explorer.explorer_html(frames)
    assert set(rows_of(text)) == set(frames.shown)
    assert {row[0] for row in data_of(text)["trials"]} == set(frames.shown)
    assert f"{len(every.trials):,} trials: this section shows 4 of them" in text
    assert data_of(text)["total"] == len(every.trials) and "total" not in data_of(
        explorer.explorer_html(every)
    )
    assert "this section shows" not in explorer.explorer_html(every)


def test_runs_group_rows_as_pandas_groups_them_wherever_a_groups_rows_are():
    rng = np.random.default_rng(0)
    f = pd.DataFrame({"source": rng.choice(["trial", "baseline"], 200), "split": rng.choice(["train", "val"], 200),
                      "number": pd.array(rng.choice([1, 2, None], 200), dtype="Int64"), "v": np.arange(200)})
    order, groups = explorer._runs(f, ["source", "number", "split"])
    expected = list(f.groupby(["source", "number", "split"], sort=False, dropna=False))
    assert len(groups) == len(expected) == 12
    for (key, rows), (want, part) in zip(groups, expected):
        assert np.array_equal(f["v"].to_numpy()[order][rows], part["v"].to_numpy())
        assert [None if pd.isna(k) else k for k in key] == [None if pd.isna(k) else k for k in want]
