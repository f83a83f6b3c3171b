"""Test tiers by folder (unit, integrity, integration), a time limit per test, and one
isolated home per test process (``make test`` runs two, pytest-xdist).

Airflow reads AIRFLOW_HOME when it is first imported, so the isolated homes are set here,
before any test module imports it. Nothing is written into the checkout: homes, pipeline
roots, the compiled-pipeline cache and the Airflow databases the tests copy live under the
system's temporary folder.
"""

from __future__ import annotations

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
# Integration modules by the time they take (--durations), the longest first; the rest
# (unit, integrity, the quick ones) follow in their own order.
# (Seconds measured in one serial run on the 2-core CI machine, 2026-12-03.)
COST_ORDER = [
    "integration/test_tfx_examples.py",  # 350
    # The xdist group "sqlite_runs" (shared_runs.py): 260 together.
    "integration/test_trainer_styles.py",
    "integration/test_schema_drift.py",
    "integration/test_openlineage.py",
    "integration/test_edge_executor.py",  # 155
    "integration/test_faults.py",  # 250 before its Trainers were held, not trained long
    # 4 runs on three Celery workers, one killed: 230-310 (2026-12-03, shared, load 5-6).
    "integration/test_celery_executor.py",
    "integration/test_portable_beam.py",  # 110
    "integration/test_template_projects.py",  # 140 (two template projects, both lines)
    "integration/test_tfx116_example.py",  # 75
    "integration/test_module_file_concurrency.py",  # 90
    "integration/test_tfx_view.py",  # 80
    "integration/test_cli.py",  # 70
    "integration/test_penguin_e2e.py",  # 65
    "integration/test_local_executor.py",  # 45
    "integration/test_beam_args.py",  # 40
    "integration/test_installed_wheel.py",  # 40 (build, two installs, one run)
    "integration/test_user_pipeline_errors.py",  # 20
]
# What test sessions share, outside the checkout, per user: the compiled-pipeline cache
# (entries keyed by content) and the migrated Airflow databases the tests copy.
TEST_CACHE = Path(tempfile.gettempdir()) / f"tfx-dags-tests-{os.getuid()}"
# The TFX environment's unit tier runs there, with its own configuration (make test-tfx-unit).
collect_ignore = ["tfx_unit"]


def pytest_configure(config: pytest.Config) -> None:
    # The same self-contained setup as the demo: SQLite Airflow home, tfx_dags home, and a
    # DAG-parse timeout above a cold compile (four pipelines in dags/penguin.py take ~40 s,
    # more than Airflow's default 30 s).
    from tfx_dags.dev import local_airflow

    os.environ.setdefault("TFX_DAGS_COMPILED_DIR", str(TEST_CACHE / "compiled"))
    # Airflow databases are copies of one migrated once (tfx_dags.dev.local_airflow.init_db).
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
    items.sort(key=lambda item: cost_rank(Path(str(item.fspath))))
    for item in items:
        tier = Path(str(item.fspath)).relative_to(PROJECT_ROOT / "tests").parts[0]
        if tier in TIERS:
            item.add_marker(getattr(pytest.mark, tier))
            if item.get_closest_marker("timeout") is None:
                item.add_marker(pytest.mark.timeout(TIER_TIMEOUTS[tier]))


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``-n 2 --dist loadgroup``: each module stays on one worker (its module fixtures run
    once), and modules that share a session fixture name one ``xdist_group`` and stay together.
    Modules go out in collection order, the longest first (``COST_ORDER``)."""
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


def cost_rank(module: Path) -> int:
    name = module.relative_to(PROJECT_ROOT / "tests").as_posix()
    return COST_ORDER.index(name) if name in COST_ORDER else len(COST_ORDER)


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
