"""Test tiers by folder (unit, integrity, integration) and one isolated home per session.

Airflow reads AIRFLOW_HOME when it is first imported, so the isolated homes are set here,
before any test module imports it. The compiled-pipeline cache stays shared (var/compiled):
its entries are keyed by content, and a warm cache saves a compile per test session.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
TFX_PYTHON = PROJECT_ROOT / ".venv-tfx" / "bin" / "python"
TIERS = ("unit", "integrity", "integration")


def pytest_configure(config: pytest.Config) -> None:
    # The same self-contained setup as the demo: SQLite Airflow home, tfx_dags home, and a
    # DAG-parse timeout above a cold compile (four pipelines in dags/penguin.py take ~40 s,
    # more than Airflow's default 30 s).
    from tfx_dags.dev import local_airflow

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
    for item in items:
        tier = Path(str(item.fspath)).relative_to(PROJECT_ROOT / "tests").parts[0]
        if tier in TIERS:
            item.add_marker(getattr(pytest.mark, tier))


@pytest.fixture(scope="session")
def tfx_python() -> Path:
    if not TFX_PYTHON.exists():
        pytest.fail(f"{TFX_PYTHON} is missing: run `make setup`")
    return TFX_PYTHON
