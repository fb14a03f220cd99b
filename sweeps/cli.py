"""The command line: a table of commands, each a function of parsed arguments returning an exit
code.

Bad input of any kind ends in one line on stderr naming the problem and what is allowed,
and exit code 2; nothing stored is changed by a command that fails its checks. An operating
error (permission denied, a read-only or full disk) is one line too, naming what failed and
where, with its own exit code (EXIT_CODES); so is an interrupt (Ctrl-C, SIGTERM).
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import json
import logging
import os
import platform
import sys
import time
from pathlib import Path
from typing import Callable

import warnings

import numpy as np
import optuna

import mlpcore
import studies
from mlpcore import estimate
from studies.base import NAME
from sweeps.analysis.advice import hint_seeds
from sweeps.analysis.evidence import show
from sweeps.analysis.explain import REPEATS, analyse
from sweeps.pipeline import finish
from sweeps.report.files import BEST_NAME, REPORT_NAME, TRIALS_NAME, stored_studies, write_all
from sweeps.report.files import report as write_report
from sweeps.report.live import LiveReport, settle_page
from sweeps.results.handle import find, open_sweep, run_reference
from sweeps.results.reading import (
    baseline_words,
    best_config,
    budget,
    complete_trials,
    completed_and_best,
    summary,
)
from sweeps.search.driver import BATCH, search, trials_cap
from sweeps.search.interrupts import Terminated, handled
from sweeps.search.pool import release_workers
from sweeps.search.pruning import DEFAULT as DEFAULT_PRUNER
from sweeps.search.pruning import PRUNERS
from sweeps.store.factory import open_storage
from sweeps.store.masking import mask, remember

EXIT_BAD_INPUT = 2
EXIT_NO_MEMORY = 71
EXIT_IO_ERROR = 74
EXIT_NO_PERMISSION = 77
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143
EXIT_CODES = {
    0: "done",
    EXIT_BAD_INPUT: "bad input: a wrong study, number, choice, config, folder or storage; nothing "
    "was changed",
    EXIT_NO_MEMORY: "out of memory; what was finished is kept",
    EXIT_IO_ERROR: "a read or write failed (a full disk, an I/O error); what was finished is kept",
    EXIT_NO_PERMISSION: "permission denied (a read-only folder or file system); what was finished "
    "is kept",
    EXIT_INTERRUPTED: "interrupted by Ctrl-C (SIGINT); finished trials are kept",
    EXIT_TERMINATED: "stopped by SIGTERM, as by Ctrl-C; finished trials are kept",
}
"""Every exit code of the CLI (sysexits.h's EX_OSERR, EX_IOERR and EX_NOPERM, 128 + the signal's
number)."""

OPERATING_ERRORS = {
    errno.EACCES: EXIT_NO_PERMISSION,
    errno.EPERM: EXIT_NO_PERMISSION,
    errno.EROFS: EXIT_NO_PERMISSION,
    errno.ENOSPC: EXIT_IO_ERROR,
    errno.EDQUOT: EXIT_IO_ERROR,
    errno.ENOMEM: EXIT_NO_MEMORY,
}
"""The exit code of an OSError by its errno; any other OSError is EXIT_IO_ERROR."""

RESUME = "run the same command again to resume"

STORAGE_VARIABLE = "SWEEPS_STORAGE"
"""The environment variable a storage URL can come from, so that no password is on a command line
(``ps``)."""

LINE_LIMIT = 400
"""Characters of a message line at most: a value it echoes is cut in its middle, the advice at its
end kept."""


def cut(text: str, limit: int = LINE_LIMIT) -> str:
    """``text`` on one line of at most about ``limit`` characters: its head and its tail, and how
    much was cut."""
    text = " ".join(str(text).split())
    if len(text) <= limit:
        return text
    head, tail = limit * 2 // 3, limit // 3
    return f"{text[:head]} ...[{len(text) - head - tail} characters cut]... {text[-tail:]}"


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (the problem and the choices), exit code 2."""

    def error(self, message: str):
        self.exit(EXIT_BAD_INPUT, f"error: {message}; see {self.prog} --help\n")


def whole(low: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"must be a whole number >= {low}, got {text!r}"
            ) from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be a whole number >= {low}, got {text!r}")
        return value

    return parse


def seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of seconds > 0, got {text!r}") from None
    if not np.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a number of seconds > 0, got {text!r}")
    return value


def add_location(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--out",
        default="results",
        metavar="DIR",
        help="results root; a study's files are in DIR/STUDY/ (default: results)",
    )
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "--storage",
        metavar="URL",
        help="an Optuna storage URL (default: $SWEEPS_STORAGE, else the "
        "journal file DIR/STUDY/journal.log); a password is better left out of it (see README)",
    )
    where.add_argument(
        "--storage-file", metavar="FILE", help="a file whose first line is the storage URL"
    )


def storage_url(args) -> str | None:
    """The storage URL: ``--storage``, the first line of ``--storage-file``, else $SWEEPS_STORAGE;
    None: the default journal file. A URL from a file or the environment keeps its password off the
    command line."""
    if args.storage is not None:
        return args.storage
    if args.storage_file is not None:
        path = Path(args.storage_file)
        try:
            lines = [
                line.strip()
                for line in path.read_text(encoding="utf-8").splitlines()
                if line.strip()
            ]
        except (OSError, UnicodeDecodeError) as e:
            raise ValueError(
                f"storage file {cut(args.storage_file, 100)!r} cannot be read "
                f"({getattr(e, 'strerror', None) or type(e).__name__})"
            ) from None
        if not lines:
            raise ValueError(
                f"storage file {cut(args.storage_file, 100)!r} is empty; its first line must be "
                "the URL"
            )
        return lines[0]
    return os.environ.get(STORAGE_VARIABLE) or None


# --- commands ----------------------------------------------------------------------------------


def cmd_list(args) -> int:
    titles = {name: studies.get(name).title for name in studies.names()}
    store = (
        None if args.storage is None else open_storage(args.storage, Path(args.out))
    )  # one opening for all
    stored = stored_studies(args.out, store)
    for name in stored:
        titles.setdefault(name, None)
    print(f"{'study':<16} {'trials':>9} {'best':>9}  title")
    for name, title in titles.items():
        shown = (
            name if NAME.fullmatch(name) else ascii(cut(name, 40))
        )  # a name read back is shown, never trusted
        try:
            sweep = open_sweep(name, out=args.out, storage=args.storage, store=store)
        except (
            ValueError
        ) as e:  # not run yet, or stored but foreign, unreadable or wrongly named: said, not fatal
            print(
                f"{shown:<16} {'-':>9} {'-':>9}  "
                f"{title if name not in stored else 'skipped: ' + cut(mask(str(e)))}"
            )
            continue
        opt = sweep.study
        settle_page(sweep)
        done, best_value = completed_and_best(sweep)
        best = f"{best_value:9.4g}" if best_value is not None else f"{'-':>9}"
        title = title or opt.user_attrs.get("study", {}).get("title", "")
        print(f"{shown:<16} {f'{done}/{budget(opt)}':>9} {best}  {title}")
    return 0


def cmd_run(args) -> int:
    if studies.is_table(args.study):
        study = definition = study_from_args(args)
    elif (
        args.name is not None
    ):  # the study of a file or a name, under another name: saved, as a study of data is
        study = definition = find(args.study, args.out).replace(name=args.name)
    else:
        study, definition = run_reference(args.study, args.out), find(args.study, args.out)
    ref = definition.name if isinstance(study, studies.Study) else args.study
    say_run_estimates(definition, args.repeats)
    total = min(args.trials or definition.trials, trials_cap())
    live = LiveReport(ref, out=args.out, storage=args.storage, total=total) if args.report else None
    with live or contextlib.nullcontext():  # the page, rewritten while the sweep runs
        sweep = search(
            study,
            trials=args.trials,
            jobs=args.jobs,
            seed=args.seed,
            repeats=args.repeats,
            storage=args.storage,
            out=args.out,
            timeout=args.timeout,
            trial_timeout=args.trial_timeout,
            batch=args.batch,
            pruner=args.pruner,
            progress=args.progress,
            argv=[program(), *sys.argv[1:]],
        )
    print(
        summary(sweep.study, None, baseline_words(ref, definition))
    )  # before the analysis, which takes a while
    done = finish(sweep, report=args.report, explain=args.explain, jobs=args.jobs)
    if done.report is None:
        settle_page(sweep)  # a page a dead driver left "running" says where the sweep is now
    print(outputs(sweep, done, ref, args.report))
    if done.analysis is not None:
        print("explain: " + done.analysis["fix"]["sentence"])
        if done.analysis["answer"] is not None:
            print("answer: " + done.analysis["answer"]["sentence"])
    if done.report is not None:
        print(f"report: {done.report}")
    return 0


def outputs(sweep, done, ref: str, report: bool) -> str:
    """The files a run left (only those that exist), and why the best config or the report is
    missing."""
    files = [name for name in (BEST_NAME, TRIALS_NAME, REPORT_NAME) if (sweep.dir / name).is_file()]
    line = (
        f"outputs: {sweep.dir}/ ({', '.join(files)})" if files else f"outputs: none in {sweep.dir}/"
    )
    if not complete_trials(sweep.study):
        failed = [t for t in sweep.study.get_trials(deepcopy=False) if "error" in t.user_attrs]
        why = (
            f"none of the trials completed; {len(failed)} failed, the last with: "
            f"{cut(failed[-1].user_attrs['error'], 160)}"
            if failed
            else "no trial completed"
        )
        return f"{line}\nno best config and no report: {why}"
    if done.report is None:
        return f"{line}\nno report: " + (
            "--no-report was given"
            if not report
            else f"it failed (the warning above says why); retry with: python -m sweeps "
            f"report {ref}"
        )
    return line


def cmd_explain(args) -> int:
    doc = analyse(
        args.study, out=args.out, storage=args.storage, repeats=args.repeats, jobs=args.jobs
    )
    if args.json:
        fix = doc["fix"]
        head = {
            "changes": fix["changes"],
            "lr_range": fix["lr_range"],
            "escape_rate": fix["escape_rate"],
            "repeats": doc["repeats"],
            "budget": doc["budget"],
            "searched": {k: doc["searched"][k] for k in ("candidates", "exhaustive_up_to")},
            "path": doc["path"],
            "swaps": doc["swaps"],
        }
        print(json.dumps(head | {k: v for k, v in doc.items() if k not in head}, indent=1))
        return 0
    print(f"{doc['study']}: {doc['question']['sentence']}")
    print(doc["fix"]["sentence"])
    if doc["at_search_budget"] is not None:
        print(doc["at_search_budget"]["sentence"])
    if doc["answer"] is not None:
        print(doc["answer"]["sentence"])
    for h in doc["hints"]:
        print(f"  hint ({h['verdict']}; {hint_seeds(h)}): {h['hint']}")
    for row in doc["map"]:
        cells = ", ".join(
            f"{c['label']}{'*' if c['fixed'] else ''} {c['fits']}/{c['seeds']}"
            for c in row["cells"]
        )
        print(f"  {row['setting']:<18} {cells}")
    code = doc["fix"].get("in_your_code") or []
    if code:
        print(
            "\nIn your own NumPy loop, the lines that make each change (each under a comment "
            "saying where it goes):"
        )
    for item in code:
        also = "".join(
            f"; this also makes {a['setting']} {show(a['value'], a['setting'])}"
            for a in item["also"]
        )
        print(f"\n## {item['title']}{also}\n{item['code']}")
    return 0


def cmd_report(args) -> int:
    if args.all == (args.study is not None):
        raise ValueError(
            f"report takes a study ({', '.join(studies.names())} or a .py file) or --all, "
            f"{'not both' if args.all else 'got neither'}"
        )
    path = (
        write_all(out=args.out, storage=args.storage)
        if args.all
        else write_report(args.study, out=args.out, storage=args.storage)
    )
    print(f"report: {path}")
    return 0


def cmd_best(args) -> int:
    print(best_config(args.study, out=args.out, storage=args.storage).to_json())
    return 0


def cmd_diagnose(args) -> int:
    study = find(args.study, args.out)
    if args.config and args.config.lstrip().startswith("{"):  # the JSON itself, as `best` prints it
        cfg, which = mlpcore.MLPConfig.from_json(args.config), "the config given"
    elif args.config:
        path = Path(args.config)
        if not path.is_file():
            raise ValueError(f"config file {args.config!r} does not exist")
        cfg = mlpcore.MLPConfig.from_json(path.read_text())
        which = f"config {args.config}"
    elif args.best:
        cfg, which = (
            best_config(args.study, out=args.out, storage=args.storage),
            "best config of the sweep",
        )
    else:
        cfg, which = study.baseline, baseline_words(args.study, study)
    if args.seed is not None:
        cfg = cfg.replace(seed=args.seed)
    data = study.data()
    say_estimate(
        f"this training ({which})",
        cfg,
        data,
        "--timeout SEC stops it there and diagnoses the net so far",
    )
    stop = None
    if args.timeout is not None:
        end = time.monotonic() + args.timeout

        def stop(step, train, val):
            return TIMEOUT_STOP if time.monotonic() > end else None

    r = mlpcore.fit(
        cfg, data.x_train, data.y_train, x_val=data.x_val, y_val=data.y_val, on_checkpoint=stop
    )
    print(
        f"{study.name}: {which}, init seed {cfg.seed}, {r.steps_done} steps ({r.stopped}), "
        f"{r.seconds:.2f}s on {r.backend}"
    )
    if r.stopped == TIMEOUT_STOP:
        print(
            f"stopped by --timeout after {r.steps_done:,} of {cfg.steps:,} steps: the diagnosis is "
            "of the net so far"
        )
    print(r.diagnosis)
    return 0


TIMEOUT_STOP = "timeout"
LONG_SECONDS = 180.0
"""A training estimated longer than this (a few minutes) is announced, with its estimate, before it
starts."""
LARGE_ROWS = 100_000
"""Training rows above which a run warns, with its estimate, and advises a batch size."""


def say_estimate(what: str, cfg: mlpcore.MLPConfig, data, bound: str) -> None:
    """One warning line on stderr when ``cfg``'s training on ``data`` is estimated above
    LONG_SECONDS."""
    rows, features = len(data.x_train), data.features
    seconds = estimate.training_seconds(cfg, rows, features)
    if seconds > LONG_SECONDS:
        batch = rows if cfg.batch_size is None else min(cfg.batch_size, rows)
        print(
            f"warning: {what} may take about {estimate.words(seconds)} ({cfg.steps:,} steps of "
            f"{batch:,} rows "
            f"through {estimate.parameters(cfg, features):,} parameters); {bound}",
            file=sys.stderr,
        )


def say_run_estimates(definition: studies.Study, repeats: int | None) -> None:
    """Before a sweep: its large data, and any training estimated above LONG_SECONDS, each said in
    one line."""
    data = definition.data()
    start = definition.starts[0] if definition.starts else mlpcore.MLPConfig()
    trial = start.replace(steps=definition.steps)
    if len(data.x_train) > LARGE_ROWS:
        seconds = estimate.training_seconds(trial, len(data.x_train), data.features)
        print(
            f"warning: {len(data.x_train):,} training rows: a trial of the first config "
            f"({definition.steps:,} "
            f"full-batch steps) may take about {estimate.words(seconds)} per seed; a batch size "
            "(batch_size in "
            f"your config and the study's space) trains on samples, far faster",
            file=sys.stderr,
        )
    else:
        say_estimate(
            "a training of the first trial",
            trial,
            data,
            "--trial-timeout SEC bounds every training",
        )
    say_estimate(
        "a training of the baseline",
        definition.baseline,
        data,
        "--trial-timeout SEC bounds every training",
    )


COMMANDS: dict[str, tuple[Callable, str]] = {
    "list": (cmd_list, "the studies, with trials done and best value where a study has run"),
    "run": (cmd_run, "run or resume the sweep of a study"),
    "best": (cmd_best, "the best config of a study's sweep, as JSON on stdout"),
    "diagnose": (
        cmd_diagnose,
        "fit a config on a study's data and print its failure mode, metrics and hints",
    ),
    "explain": (
        cmd_explain,
        "answer the question: retrain its config as it was asked, the learning rate retuned, "
        "and find the smallest fix, the thread's answer's verdict and which settings escape",
    ),
    "report": (
        cmd_report,
        "write a study's HTML report (DIR/STUDY/report.html), or with --all every report and "
        "DIR/index.html",
    ),
}


def program() -> str:
    """How the user called the command line: ``sweeps`` (the console script) or ``python -m
    sweeps``."""
    return "sweeps" if Path(sys.argv[0]).name == "sweeps" else "python -m sweeps"


def version() -> str:
    """``sweeps 0.1.0 (optuna 5.1.0, numpy 2.4.6, Python 3.11.9)``: this package and what it runs
    on."""
    return (
        f"sweeps {mlpcore.__version__} (optuna {optuna.__version__}, numpy {np.__version__}, "
        f"Python {platform.python_version()})"
    )


def repeats_words() -> str:
    """The question studies' init seeds per trial, as declared: "3 for sqrt, square and
    square_int, 1 for sine"."""
    by: dict[int, list[str]] = {}
    for name in studies.names():
        by.setdefault(studies.get(name).repeats, []).append(name)
    return ", ".join(f"{r} for {_and(names)}" for r, names in sorted(by.items(), reverse=True))


def _and(names: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def build_parser() -> Parser:
    parser = Parser(
        prog=program(), description="Sweeps that show why a small MLP only fits a straight line."
    )
    parser.add_argument(
        "--version", action="version", version=version(), help="print the version and exit"
    )
    sub = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=Parser
    )
    for name, (_, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        if name not in ("list", "report"):
            p.add_argument(
                "study",
                help=f"a study name ({', '.join(studies.names())}), a .py file defining STUDY"
                + (", or a data file (.csv, .parquet) with --x and --y" if name == "run" else ""),
            )
        if name == "report":
            p.add_argument("study", nargs="?", help="a study name or a .py file defining STUDY")
            p.add_argument(
                "--all", action="store_true", help="every stored sweep's report, and an index page"
            )
        add_location(p)
        if name == "run":
            p.add_argument(
                "--trials",
                type=whole(1),
                help="the study's total number of trials (default: the study's budget)",
            )
            p.add_argument("--jobs", type=whole(1), help="worker processes (default: all cores)")
            p.add_argument("--seed", type=whole(0), default=0, help="study seed (default 0)")
            p.add_argument(
                "--repeats",
                type=whole(1),
                help="init seeds per trial, the value their median "
                f"(default: the study's: {repeats_words()})",
            )
            p.add_argument(
                "--timeout", type=seconds, help="start no new trial after this many seconds"
            )
            p.add_argument(
                "--trial-timeout",
                type=seconds,
                metavar="SEC",
                help="stop (kill) and fail a trial one of whose trainings runs longer than this",
            )
            p.add_argument(
                "--batch",
                type=whole(1),
                default=BATCH,
                help="the most trials asked and not yet told: trial n is drawn knowing "
                f"trials 0..n - BATCH (default {BATCH})",
            )
            p.add_argument(
                "--pruner",
                choices=PRUNERS,
                default=DEFAULT_PRUNER,
                help=f"stop hopeless trainings at a checkpoint (default {DEFAULT_PRUNER}; see "
                "benchmarks/README.md)",
            )
            p.add_argument(
                "--progress",
                action=argparse.BooleanOptionalAction,
                default=None,
                help="show a progress line (default: when stderr is a terminal)",
            )
            p.add_argument(
                "--report",
                action=argparse.BooleanOptionalAction,
                default=True,
                help="write the HTML report at the end (default: yes)",
            )
            p.add_argument(
                "--name",
                metavar="NAME",
                help="the study's name (its folder under --out): for a data "
                "file, instead of the file's name; for a study file or name, a new study of its "
                "problem",
            )
            add_table_arguments(p)
            p.add_argument(
                "--explain",
                action=argparse.BooleanOptionalAction,
                default=True,
                help="retrain the question's config and its swaps after the search (default: yes)",
            )
        if name == "explain":
            p.add_argument(
                "--repeats",
                type=whole(1),
                default=REPEATS,
                help=f"fresh init seeds per learning rate (default {REPEATS})",
            )
            p.add_argument("--jobs", type=whole(1), help="worker processes (default: all cores)")
            p.add_argument("--json", action="store_true", help="print the analysis as JSON")
        if name == "diagnose":
            which = p.add_mutually_exclusive_group()
            which.add_argument(
                "--baseline",
                action="store_true",
                help="the study's baseline config: the question's own, or run's --baseline (the "
                "default)",
            )
            which.add_argument("--best", action="store_true", help="the best config of the sweep")
            which.add_argument(
                "--config",
                metavar="FILE",
                help="a config JSON file (as `best` prints), or the JSON itself",
            )
            p.add_argument(
                "--timeout",
                type=seconds,
                metavar="SEC",
                help="stop the training after this many seconds and diagnose the net so far",
            )
            p.add_argument(
                "--seed",
                type=whole(0),
                metavar="N",
                help="the init seed to train from (default: the config's own); the "
                "report names the init seed of each diagnosis it shows",
            )
    return parser


@contextlib.contextmanager
def console():
    """The command line's own settings, for as long as a command runs: Optuna says only its
    warnings, and a warning is one line on stderr (``warning: ...``, secrets masked). The caller's
    settings are back afterwards."""
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    said = logging.StreamHandler(
        sys.stderr
    )  # what the library logs at WARNING or above, as one line each
    said.setLevel(logging.WARNING)
    said.setFormatter(_OneLine())
    ours = logging.getLogger("sweeps")
    ours.addHandler(said)
    engine = logging.StreamHandler(
        sys.stderr
    )  # the engine's notices (compiling the kernel) as they are
    engine.setLevel(logging.WARNING)
    engine.setFormatter(logging.Formatter("%(message)s"))
    mlpcore_logger = logging.getLogger("mlpcore")
    mlpcore_logger.addHandler(engine)
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        warnings.simplefilter(
            "ignore", ResourceWarning
        )  # a developer's news (an import cut short by a signal)
        warnings.showwarning = _one_line
        try:
            yield
        finally:
            ours.removeHandler(said)
            mlpcore_logger.removeHandler(engine)
            optuna.logging.set_verbosity(verbosity)


def _one_line(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"warning: {cut(mask(str(message)))}", file=sys.stderr if file is None else file)


class _OneLine(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return f"{record.levelname.lower()}: {cut(mask(record.getMessage()))}"


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    with console():
        return _command(args)


def _command(args) -> int:
    """Run the command; every way it can end is one line and its exit code (EXIT_CODES), in every
    stage (the search, the analysis, the report): Ctrl-C and SIGTERM included, which raise here
    wherever they arrive."""
    try:
        with handled():
            if hasattr(args, "storage"):
                args.storage = storage_url(args)
                remember(args.storage)  # its password masked in any line said from now on
            try:
                return COMMANDS[args.command][0](args)
            finally:  # the workers end now, not in the exit handlers (see sweeps.search.tracker)
                release_workers()
    except ValueError as e:
        print(f"error: {cut(mask(str(e)))}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (MemoryError, ImportError, RuntimeError) as e:  # a library or a thread with no room
        if not isinstance(e, MemoryError) and not any(w in str(e) for w in OUT_OF_MEMORY_WORDS):
            raise
        detail = f" ({cut(mask(str(e)), 160)})" if str(e) else ""
        print(
            f"error: out of memory{detail}: a smaller config, a batch size or "
            f"fewer rows need less; anything finished is kept"
            + (f", {RESUME}" if args.command == "run" else ""),
            file=sys.stderr,
        )
        return EXIT_NO_MEMORY
    except OSError as e:
        print(
            f"error: {cut(operating_error(e))}; anything finished is kept"
            + (f", {RESUME}" if args.command == "run" else ""),
            file=sys.stderr,
        )
        return OPERATING_ERRORS.get(e.errno, EXIT_IO_ERROR)
    except Terminated:
        print(f"terminated (SIGTERM): {STOPPED_WORDS[args.command]}", file=sys.stderr)
        return EXIT_TERMINATED
    except KeyboardInterrupt:
        print(f"interrupted: {STOPPED_WORDS[args.command]}", file=sys.stderr)
        return EXIT_INTERRUPTED


STOPPED_WORDS = {
    "run": "the trials in flight are marked interrupted, finished ones and finished files are "
    "kept; "
    f"{RESUME}",
    "explain": "the trainings finished are stored; run the same command again to resume",
    "report": "no file was left half-written; run the same command again",
    "list": "nothing was changed",
    "best": "nothing was changed",
    "diagnose": "nothing was changed",
}
"""What an interrupted command leaves, said after "interrupted:" (Ctrl-C) or "terminated
(SIGTERM):"."""


OUT_OF_MEMORY_WORDS = ("failed to map segment", "Cannot allocate memory", "can't start new thread")
"""How the loader says that a shared library did not fit in memory (an ImportError under
``ulimit -v``), and Python that a thread had no room for its stack (a RuntimeError)."""


def operating_error(e: OSError) -> str:
    """One line naming what failed and where: the file (when the error names it) and the reason."""
    reason = e.strerror or type(e).__name__
    where = f"{str(e.filename)!r}" if e.filename else "a read or write"
    return mask(f"{where} failed: {reason}")


def add_table_arguments(p) -> None:
    """``run``'s options for a data file: which columns, your config, the held-out share."""
    p.add_argument(
        "--x", metavar="COL[,COL...]", help="a data file's input column(s), comma-separated"
    )
    p.add_argument("--y", metavar="COL", help="a data file's target column")
    p.add_argument(
        "--baseline",
        metavar="FILE",
        help="your config as JSON (as `best` prints): the one the report diagnoses",
    )
    p.add_argument(
        "--val-fraction",
        type=float,
        metavar="F",
        help="share of a data file's rows held out for validation (default "
        f"{studies.base.VAL_FRACTION})",
    )


def study_from_args(args) -> studies.Study:
    """The study of ``run DATAFILE --x ... --y ...``."""
    if not args.x or not args.y:
        raise ValueError(
            f"a data file needs its columns: run {args.study} --x COL[,COL...] --y COL"
        )
    x, y = [c.strip() for c in args.x.split(",") if c.strip()], args.y.strip()
    if y in x:
        raise ValueError(f"column {y!r} is both an input (--x) and the target (--y)")
    if len(set(x)) != len(x):
        raise ValueError(f"--x names a column twice: {x}")
    return studies.from_table(
        args.study, x, y, baseline=args.baseline, val_fraction=args.val_fraction, name=args.name
    )
