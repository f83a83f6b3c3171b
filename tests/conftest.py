"""Test tiers by folder (unit, integrity, integration), a time limit per test, and one
isolated home per test process (``make test`` runs two, pytest-xdist).

Airflow reads AIRFLOW_HOME when it is first imported, so the isolated homes are set here,
before any test module imports it. Nothing is written into the checkout: homes, pipeline
roots, the compiled-pipeline cache and the Airflow databases the tests copy live under the
system's temporary folder.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
TFX_PYTHON = PROJECT_ROOT / ".venv-tfx115" / "bin" / "python"
TIERS = ("unit", "integrity", "integration")
# Seconds a test may take, its module's shared fixtures included, unless its module says
# otherwise (``pytestmark = pytest.mark.timeout(...)``): a hang fails that test, naming what
# it waited for, instead of running into CI's limit.
TIER_TIMEOUTS = {"unit": 60, "integrity": 600, "integration": 900}
# Seconds each test module took (its shared runs included), as a whole run measured them:
# the longest go out first, so that two workers finish together. A run of the whole suite
# writes what it measured to MEASURED_DURATIONS (outside the checkout), which this process's
# next run orders by; `make test-durations` copies it into the committed file.
COMMITTED_DURATIONS = PROJECT_ROOT / "tests" / "module_durations.json"
# A module measured nowhere yet: placed as a mid-sized integration module.
UNMEASURED_S = 60.0
# What test sessions share, outside the checkout, per user: the compiled-pipeline cache
# (entries keyed by content) and the migrated Airflow databases the tests copy.
TEST_CACHE = Path(tempfile.gettempdir()) / f"tfx-dags-tests-{os.getuid()}"
MEASURED_DURATIONS = TEST_CACHE / "module_durations.json"
# Hypothesis keeps its example database and caches in the working directory's .hypothesis
# unless told otherwise: there, outside the checkout, like everything else the suite writes.
os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", str(TEST_CACHE / "hypothesis"))
# The TFX environment's unit tier runs there, with its own configuration (make test-tfx-unit).
collect_ignore = ["tfx_unit"]


def pytest_configure(config: pytest.Config) -> None:
    # The same self-contained setup as the demo: SQLite Airflow home, tfx_dags home, and a
    # DAG-parse timeout above a cold compile (four pipelines in dags/penguin.py take ~40 s,
    # more than Airflow's default 30 s).
    from dev import local_airflow

    os.environ.setdefault("TFX_DAGS_COMPILED_DIR", str(TEST_CACHE / "compiled"))
    # Airflow databases are copies of one migrated once (dev.local_airflow.init_db).
    os.environ.setdefault("TFX_DAGS_DEV_DB_TEMPLATES", str(TEST_CACHE / "airflow-db"))
    os.environ.update(local_airflow.environment(Path(tempfile.mkdtemp(prefix="tfx-dags-tests-"))))
    # The test data is tiny: Beam's in-memory DirectRunner beats starting a worker per core.
    # tests/integration/test_beam_args.py runs the default (multi-processing) on purpose.
    os.environ["TFX_DAGS_BEAM_DIRECT_MODE"] = "in_memory"
    # The session's own node server (every task and compile of the session shares it),
    # stopped when the session ends so that nothing idles on after it.
    os.environ["TFX_DAGS_NODE_SERVER_DIR"] = tempfile.mkdtemp(prefix="tfx-dags-srv-")


def pytest_unconfigure(config: pytest.Config) -> None:
    from tfx_dags.node_server import client as node_client

    node_client.stop_servers()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The longest modules first, so that two workers finish together (xdist hands modules
    # out in this order); each module's own order is kept.
    durations = module_durations()
    items.sort(key=lambda item: -durations.get(module_name(item.nodeid), UNMEASURED_S))
    for item in items:
        tier = Path(str(item.fspath)).relative_to(PROJECT_ROOT / "tests").parts[0]
        if tier in TIERS:
            item.add_marker(getattr(pytest.mark, tier))
            if item.get_closest_marker("timeout") is None:
                item.add_marker(pytest.mark.timeout(TIER_TIMEOUTS[tier]))


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``-n 2 --dist loadgroup``: each module stays on one worker (its module fixtures run
    once), and modules that share a session fixture name one ``xdist_group`` and stay together.
    Modules go out in collection order, the longest first (``module_durations``)."""
    from xdist.scheduler import LoadGroupScheduling

    class ModuleOrGroupScheduling(LoadGroupScheduling):
        def _split_scope(self, nodeid: str) -> str:
            if nodeid.rfind("@") > nodeid.rfind("]"):
                return nodeid.rsplit("@", 1)[-1]
            return nodeid.split("::", 1)[0]

    if config.getvalue("dist") != "loadgroup":
        return None
    config.option.loadscopereorder = False
    return ModuleOrGroupScheduling(config, log)


def module_name(nodeid: str) -> str:
    """``tests/integration/test_cli.py::test_x`` -> ``integration/test_cli.py``."""
    return nodeid.split("::", 1)[0].removeprefix("tests/")


def module_durations() -> dict[str, float]:
    """Seconds per module: the committed measurement, updated by this machine's last run."""
    durations: dict[str, float] = {}
    for path in (COMMITTED_DURATIONS, MEASURED_DURATIONS):
        try:
            durations.update(json.loads(path.read_text()))
        except (OSError, ValueError):
            continue
    return durations


_spent: dict[str, float] = {}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    # On the controller too when xdist runs the tests: every worker's reports reach it.
    _spent[module_name(report.nodeid)] = _spent.get(module_name(report.nodeid), 0.0) + float(
        report.duration
    )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Record what each module took, for the next run's order: on the controller (or a run
    without xdist), after a run of whole modules (no -m, -k, --lf, -x) that ran DAGs;
    modules not run keep what was measured before."""
    if hasattr(session.config, "workerinput") or not any(
        name.startswith("integration/") for name in _spent
    ):
        return
    options = session.config.option
    if options.markexpr or options.keyword or getattr(options, "lf", False) or options.maxfail:
        return
    measured = module_durations() if MEASURED_DURATIONS.is_file() else {}
    measured.update({name: round(seconds, 1) for name, seconds in _spent.items()})
    MEASURED_DURATIONS.parent.mkdir(parents=True, exist_ok=True)
    MEASURED_DURATIONS.write_text(json.dumps(dict(sorted(measured.items())), indent=1) + "\n")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report = yield
    if call.excinfo is not None and "from pytest-timeout" in str(call.excinfo.value):
        report.sections.append(("what it waited for", waited_for(call.excinfo)))
    return report


def waited_for(excinfo: pytest.ExceptionInfo[BaseException]) -> str:
    """What the timed-out test was waiting on, from the frames the timeout interrupted:
    a ``wait_for(..., what=...)``, a subprocess, or else the innermost line of the tests."""
    for entry in reversed(excinfo.traceback):
        frame_locals = entry.frame.f_locals
        if isinstance(frame_locals.get("what"), str):
            return str(frame_locals["what"])
        for value in frame_locals.values():
            if isinstance(value, subprocess.Popen):
                command = value.args if isinstance(value.args, list) else [value.args]
                return f"the command {shlex.join(map(str, command))} (pid {value.pid})"
    for entry in reversed(excinfo.traceback):
        if Path(str(entry.path)).is_relative_to(PROJECT_ROOT / "tests"):
            return f"{entry.path}:{entry.lineno + 1}: {entry.statement}"
    return "unknown: see the traceback"


@pytest.fixture(scope="session")
def tfx_python() -> Path:
    if not TFX_PYTHON.exists():
        pytest.fail(f"{TFX_PYTHON} is missing: run `make setup`")
    return TFX_PYTHON
