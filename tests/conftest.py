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
    base = Path(tempfile.mkdtemp(prefix="tfx-dags-tests-"))
    os.environ["AIRFLOW_HOME"] = str(base / "airflow")
    os.environ["TFX_DAGS_HOME"] = str(base / "home")
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(PROJECT_ROOT / "dags")


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
