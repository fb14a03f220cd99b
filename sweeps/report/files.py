"""The files a sweep leaves beside its storage, each replaced atomically: best.json, trials.csv, and
the report (report.html, figures/, headline.json); with ``--all``, every stored sweep's report and
an index page.

    python -m sweeps report sqrt        # results/sqrt/report.html, figures/*.svg, trials.csv
    python -m sweeps report --all       # every study's report and results/index.html
"""

from __future__ import annotations

import json
from pathlib import Path

import optuna

from mlpcore.atomic import check_writable, replace_file
from sweeps.analysis.explain import stored_analysis
from sweeps.report.drawing import DrawingHelper, begin_drawing, early_drawing
from sweeps.report.explorer import explorer_html
from sweeps.report.kept import DRAWN_NAME, drawing_key, keep_figures, kept_figures, kept_table
from sweeps.report.page import EVERY_TRIAL, Live, index_page, page
from sweeps.results import frames as tidy
from sweeps.results.handle import Sweep, open_sweep
from sweeps.store.factory import JOURNAL_NAME, open_storage
from sweeps.store.masking import mask

REPORT_NAME = "report.html"
HEADLINE_NAME = "headline.json"
INDEX_NAME = "index.html"
FIGURES_DIR = "figures"
BEST_NAME = "best.json"
TRIALS_NAME = "trials.csv"


def write_outputs(sweep: Sweep, trials) -> None:
    """best.json (when a trial is complete) and trials.csv (``trials``: its
    :func:`~sweeps.results.frames.trials_frame`) beside the journal."""
    best = tidy.best_record(sweep.study)
    if best is not None:
        found = {"study": sweep.name, "trial": best["number"]}
        found |= {k: best[k] for k in ("value", "mode", "config")}
        replace_file(sweep.dir / BEST_NAME, json.dumps(found, indent=2) + "\n")
    write_trials_csv(trials, sweep.dir)


def write_trials_csv(trials, out_dir: Path) -> str:
    """``out_dir/trials.csv`` from a :func:`sweeps.results.frames.trials_frame`, atomically; returns
    its text."""
    text = trials.to_csv(index=False)
    replace_file(out_dir / TRIALS_NAME, text)
    return text


_UNSET = object()


def write_report(
    sweep: Sweep,
    *,
    frames: tidy.Frames | None = None,
    analysis=_UNSET,
    live: Live | None = None,
    helper: DrawingHelper | None = None,
) -> Path:
    """Write ``report.html``, ``figures/*.svg``, ``trials.csv`` and ``headline.json`` (the page's
    numbers, as data) into the sweep's folder; returns the page's path.

    ``frames``: the sweep's frames, when the caller built them already
    (:func:`sweeps.results.frames.build`); ``analysis``: its counterfactual analysis, when the
    caller holds it (None: none), else the stored one is read. Every file is replaced atomically;
    the figures' bytes are encoded once and go both into the page and into ``figures/``. ``live``:
    see :func:`sweeps.report.page.page`; ``helper``: the process that draws the figures
    (:func:`sweeps.report.drawing.early_drawing`), default this one. Figures in ``figures/`` drawn
    from the same frames, analysis and code are read back instead, and ``trials.csv`` written from
    them is left as it is (:mod:`sweeps.report.kept`).
    """
    out_dir = sweep.dir
    fig_dir = out_dir / FIGURES_DIR
    fig_dir.mkdir(parents=True, exist_ok=True)
    for folder in (
        out_dir,
        fig_dir,
    ):  # a read-only folder is said at once, not after the page is drawn
        check_writable(folder)
    frames = tidy.build(sweep) if frames is None else frames
    analysis = stored_analysis(sweep) if analysis is _UNSET else analysis
    key = drawing_key(frames, analysis)
    kept = kept_figures(fig_dir, key)  # the figures of the last report, if drawn from the same
    drawing = (lambda: kept) if kept is not None else begin_drawing(frames, analysis, helper=helper)
    # what needs no figure, while a helper draws them
    table = None
    if kept is None or not kept_table(fig_dir, key, out_dir / TRIALS_NAME):
        table = write_trials_csv(frames.trials, out_dir)
    replace_file(out_dir / HEADLINE_NAME, json.dumps(frames.headline, indent=2, default=str) + "\n")
    prebuilt = {EVERY_TRIAL: explorer_html(frames)}
    drawn = drawing()
    for name, (data, _) in drawn.items() if kept is None else ():
        replace_file(fig_dir / f"{name}.svg", data)
        (fig_dir / f"{name}.png").unlink(
            missing_ok=True
        )  # this figure as an earlier version wrote it
    if kept is None:
        keep_figures(fig_dir, key, drawn, table)
    text = page(
        sweep.study,
        frames,
        drawn,
        ref=sweep.ref,
        out=sweep.out,
        storage=sweep.storage,
        live=live,
        analysis=analysis,
        prebuilt=prebuilt,
    )
    return replace_file(out_dir / REPORT_NAME, text)


def report(study: str, *, out: str | Path = "results", storage: str | None = None) -> Path:
    """Write the report of the stored sweep of ``study`` (a name or a study file); returns the
    page's path."""
    sweep = open_sweep(study, out=out, storage=storage)
    if (sweep.dir / FIGURES_DIR / DRAWN_NAME).is_file():  # likely kept: no drawing to prepare
        return write_report(sweep)
    with early_drawing() as helper:  # it imports the drawing while this process builds the frames
        return write_report(sweep, helper=helper)


def write_all(*, out: str | Path = "results", storage: str | None = None) -> Path:
    """Every stored sweep's report, and ``out/index.html`` linking them; an error when there is
    none."""
    store = (
        None if storage is None else open_storage(storage, Path(out))
    )  # one opening serves every sweep in it
    names = stored_studies(out, store)
    if not names:
        raise ValueError(
            f"no sweep found in {mask(str(storage or out))!r}; run one first: python -m sweeps run "
            "STUDY"
        )
    rows = []
    with early_drawing() as helper:  # one helper draws every sweep's figures
        for name in names:
            try:
                path = write_report(
                    open_sweep(name, out=out, storage=storage, store=store), helper=helper
                )
            except (
                ValueError
            ) as e:  # no completed trial yet, a foreign study, a name that names no folder: listed
                rows.append(
                    {
                        "study": ascii(name) if not name.isprintable() else name,
                        "error": mask(str(e)),
                    }
                )
                continue
            rows.append(
                json.loads((path.parent / HEADLINE_NAME).read_text())
                | {"link": f"{name}/{REPORT_NAME}"}
            )
    Path(out).mkdir(parents=True, exist_ok=True)
    return replace_file(Path(out) / INDEX_NAME, index_page(rows))


def stored_studies(out: str | Path, store=None) -> list[str]:
    """Names of the sweeps stored in ``store`` (an opened storage), or in the journal files
    ``out/*/journal.log``."""
    if store is not None:
        return sorted(
            n for n in optuna.get_all_study_names(store) if not n.endswith(":explain")
        )  # a sweep's analysis (sweeps.analysis.explain), not a sweep
    root = Path(out)
    return (
        sorted(d.name for d in root.iterdir() if (d / JOURNAL_NAME).is_file())
        if root.is_dir()
        else []
    )
