"""Data that drifts from the curated taxi schema stops the run at ExampleValidator.

One DAG over a folder of data sets, its ``data_root`` a run parameter: each drifted data set
is a manual run with that parameter. ExampleValidator must fail with the anomaly named in the
task log, without retrying; Transform and the Trainer never run.
"""

from __future__ import annotations

import pytest

from tests.support.shared_runs import DRIFTS, DriftRuns

# The runs are DriftRuns (shared_runs.py), which test_openlineage.py reads too.
pytestmark = pytest.mark.xdist_group("sqlite_runs")


@pytest.fixture(scope="module")
def drift(drift_runs: DriftRuns) -> DriftRuns:
    return drift_runs


@pytest.mark.parametrize("name", list(DRIFTS))
def test_drifted_data_stops_the_run_at_the_validator_with_the_anomaly_in_the_log(
    drift: DriftRuns, name: str
) -> None:
    assert drift.exit_codes[name] != 0
    log = drift.logs[name]
    assert "ExampleValidator found" in log and DRIFTS[name][1] in log, log[-3000:]
    if name == "new_category":
        assert "Bitcoin" in log


def test_no_drifted_run_trained_and_the_validator_did_not_retry(drift: DriftRuns) -> None:
    assert len(drift.states) == len(DRIFTS)
    for run_id, states in drift.states.items():
        assert states["ExampleValidator"] == "failed", (run_id, states)
        assert states["Transform"] == states["Trainer"] == "upstream_failed", (run_id, states)
        assert states["Pusher"] == "upstream_failed", (run_id, states)
        assert "Trainer" not in drift.metadata.get(run_id, {}), run_id
    for log in drift.logs.values():
        assert log.count("failed with exit code 3") >= 1
        assert "up_for_retry" not in log
