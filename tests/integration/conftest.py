"""Runs that several modules assert on, made once per test process (see shared_runs.py)."""

from __future__ import annotations

import pytest

from tests.support.shared_runs import DriftRuns, StyleRuns


@pytest.fixture(scope="session")
def style_runs(tmp_path_factory: pytest.TempPathFactory) -> StyleRuns:
    return StyleRuns(tmp_path_factory.mktemp("trainer-styles"))


@pytest.fixture(scope="session")
def drift_runs(tmp_path_factory: pytest.TempPathFactory) -> DriftRuns:
    return DriftRuns(tmp_path_factory.mktemp("schema-drift"))
