"""The ``tfx-dags`` command line.

    tfx-dags compile [DAGS_FOLDER] [--jobs N] [--prune [--dry-run]] [-o table|json|plain]
    tfx-dags check [DAGS_FOLDER] [--jobs N] [-o table|json|plain]
    tfx-dags list [DAGS_FOLDER] [-o table|json|plain]
    tfx-dags show DAG_ID [--dags-folder DIR] [--runs N] [-o table|json|plain]
    tfx-dags run DAG_ID [--conf JSON] [--dags-folder DIR] [-o table|json|plain]

DAGS_FOLDER defaults to Airflow's ``[core] dags_folder``; Airflow's configuration and
tfx_dags' settings come from the environment, as for the DAG processor (run ``compile`` with
the environment the DAG processor has: the cache key includes the settings it reads). Errors
are one line on stderr and a non-zero exit code.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from pathlib import Path
from typing import Any

from tfx_dags.cli.output import FORMATS, claim_stdout, say
from tfx_dags.common import settings
from tfx_dags.common.errors import TfxDagsError


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not _airflow_installed():
        return _hand_over_to_the_airflow_environment(args)
    parsed = parser().parse_args(args)
    # Before anything imports Airflow, which sets its logging up on import.
    _quiet_airflow_logs()
    claim_stdout()
    try:
        return int(parsed.command(parsed))
    except TfxDagsError as error:
        print(f"tfx-dags {parsed.name}: error: {error}", file=sys.stderr)
        return 1
    except (OSError, ValueError, RuntimeError) as error:
        print(f"tfx-dags {parsed.name}: error: {type(error).__name__}: {error}", file=sys.stderr)
        return 1


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="tfx-dags", description="Operate TFX pipelines that run as Airflow DAGs."
    )
    commands = top.add_subparsers(required=True, metavar="COMMAND")

    def command(name: str, function: Any, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(command=function, name=name)
        sub.add_argument("-o", "--output", choices=FORMATS, default="table")
        return sub

    compile_ = command("compile", _compile, "compile every pipeline of a DAG folder ahead of time")
    compile_.add_argument("dags_folder", nargs="?", type=Path)
    compile_.add_argument("-j", "--jobs", type=int, help="compiles at a time (default: cores)")
    compile_.add_argument(
        "--prune",
        action="store_true",
        help="then remove compiled pipelines no DAG and no active DAG run uses",
    )
    compile_.add_argument("--dry-run", action="store_true", help="with --prune: only list")
    check = command("check", _check, "check a DAG folder before deploying it")
    check.add_argument("dags_folder", nargs="?", type=Path)
    check.add_argument("-j", "--jobs", type=int, help="compiles at a time (default: cores)")
    list_ = command("list", _list, "list the TFX pipelines of a DAG folder")
    list_.add_argument("dags_folder", nargs="?", type=Path)
    show = command("show", _show, "show one pipeline: nodes, compiled IR, runs, pushed model")
    show.add_argument("dag_id")
    show.add_argument("--dags-folder", type=Path)
    show.add_argument("--runs", type=int, default=5, help="how many recent runs (default 5)")
    run = command("run", _run, "run one DAG locally and print its tasks' states")
    run.add_argument("dag_id")
    run.add_argument("--conf", help="run parameters, a JSON object")
    run.add_argument("--dags-folder", type=Path)
    return top


def _compile(args: argparse.Namespace) -> int:
    from tfx_dags.cli import compile as compiling
    from tfx_dags.cli.dag_folder import one_line
    from tfx_dags.cli.output import print_rows

    jobs = args.jobs or compiling.default_jobs()
    folder, results = compiling.compile_folder(args.dags_folder, jobs=jobs)
    print_rows([result.row() for result in results], output=args.output)
    failed = [result for result in results if result.status == "failed"]
    for path, error in sorted(folder.import_errors.items()):
        print(f"tfx-dags compile: {path}: {one_line(error)}", file=sys.stderr)
    if args.prune:
        removed, kept = compiling.prune(folder, dry_run=args.dry_run)
        verb = "would remove" if args.dry_run else "removed"
        for item in removed:
            print(f"{verb} {item.entry} ({item.reason})", file=sys.stderr)
        print(f"pruned: {len(removed)} {verb}, {len(kept)} kept", file=sys.stderr)
    return 1 if failed or folder.import_errors else 0


def _check(args: argparse.Namespace) -> int:
    from tfx_dags.cli import check
    from tfx_dags.cli import compile as compiling
    from tfx_dags.cli.output import print_rows

    jobs = args.jobs or compiling.default_jobs()
    folder, results = compiling.compile_folder(args.dags_folder, jobs=jobs)
    found = check.problems(folder, results)
    if args.output == "json":
        print_rows([problem.row() for problem in found], output="json")
    else:
        for problem in found:
            say(problem.line())
        pipelines = len(list(folder.pipelines()))
        summary = f"{len(folder.dags)} DAGs ({pipelines} TFX pipelines) in {folder.folder}"
        print(
            f"{summary}: {len(found)} problems" if found else f"{summary}: no problems",
            file=sys.stderr,
        )
    return 1 if found else 0


def _list(args: argparse.Namespace) -> int:
    from tfx_dags.cli import inspect
    from tfx_dags.cli.dag_folder import one_line
    from tfx_dags.cli.output import print_rows

    folder = _parsed(args.dags_folder)
    print_rows(inspect.pipeline_rows(folder), output=args.output)
    for path, error in sorted(folder.import_errors.items()):
        print(f"tfx-dags list: {path}: {one_line(error)}", file=sys.stderr)
    return 1 if folder.import_errors else 0


def _show(args: argparse.Namespace) -> int:
    from tfx_dags.cli import inspect
    from tfx_dags.cli.output import print_rows

    shown = inspect.show(_parsed(args.dags_folder), args.dag_id, runs=args.runs)
    if args.output == "json":
        print_rows([shown], output="json")
        return 0
    for key in ("dag_id", "file", "pipeline", "tfx_env", "tfx", "compiled", "cache_key"):
        say(f"{key + ':':15}{shown[key]}")
    say(f"{'pipeline_root:':15}{shown['pipeline_root']}")
    say()
    print_rows(shown["nodes"], output=args.output)
    say()
    runs = [{"run_id": run["run_id"], **run["nodes"]} for run in shown["runs"]]
    print_rows(runs, output=args.output) if runs else say("no runs in ML Metadata yet")
    pushed = shown["pushed_model"]
    say(f"\npushed model:  {pushed['destination'] if pushed else '(none)'}")
    return 0


def _run(args: argparse.Namespace) -> int:
    from tfx_dags.cli import run
    from tfx_dags.cli.output import print_rows

    result = run.run_dag(_parsed(args.dags_folder), args.dag_id, args.conf)
    if args.output == "json":
        print_rows([result], output="json")
    else:
        say(f"DAG run {result['run_id']}: {result['state']}")
        print_rows(result["tasks"], output=args.output)
        say(f"pushed model: {result['pushed_model'] or '(none)'}")
        if not result["succeeded"]:
            print(f"tfx-dags run: the run did not succeed; see {result['log']}", file=sys.stderr)
    return 0 if result["succeeded"] else 1


HANDED_OVER = "TFX_DAGS_CLI_HANDED_OVER"
# Set by the command for its own process only (``tfx-dags run`` gives ``airflow dags test``
# the user's level back).
QUIET_LOGGING = {"AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING"}


def _quiet_airflow_logs() -> None:
    """Airflow logs each DAG folder fill at INFO on stdout; the command's output is its own
    (``-o json`` must parse). Warnings and errors still show. Before Airflow is imported."""
    for name, value in QUIET_LOGGING.items():
        if name not in os.environ:
            os.environ[name] = value
            os.environ[f"TFX_DAGS_CLI_SET_{name}"] = "1"


def _airflow_installed() -> bool:
    """Whether this interpreter has Airflow, found without importing it (importing it sets
    up its logging)."""
    spec = importlib.util.find_spec("airflow")
    locations = list(spec.submodule_search_locations or []) if spec else []
    return any((Path(location) / "sdk").is_dir() for location in locations)


def _parsed(folder: Path | None) -> Any:
    """The folder parsed with every pipeline compiled: a cold cache is compiled side by side
    first, not one file at a time under Airflow's import timeout."""
    from tfx_dags.cli import compile as compiling

    return compiling.compile_folder(folder, jobs=compiling.default_jobs())[0]


def _hand_over_to_the_airflow_environment(args: list[str]) -> int:
    """The TFX environment has no Airflow: run the command with the Airflow environment's
    interpreter, which reads the same settings."""
    python = settings.airflow_python()
    # An installed tfx_dags' default is this interpreter: there is nothing to hand over to.
    itself = python == Path(os.path.abspath(sys.executable))
    if os.environ.get(HANDED_OVER) or itself or not python.exists():
        where = "" if python.exists() else f" and {python} does not exist"
        print(
            f"tfx-dags: error: Airflow is not installed in {sys.executable}{where}; run "
            "tfx-dags from the Airflow environment or set TFX_DAGS_AIRFLOW_PYTHON to its "
            "interpreter",
            file=sys.stderr,
        )
        return 1
    os.environ[HANDED_OVER] = "1"  # an interpreter without Airflow there too: no loop
    os.execv(str(python), [str(python), "-m", "tfx_dags.cli", *args])
    return 1  # not reached
