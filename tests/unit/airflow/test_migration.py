"""An AirflowDagRunner file's DAG settings, as the compile step records them, on Airflow 3."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tfx_dags.airflow.dag_config import TaskOverride
from tfx_dags.airflow.migration import dag_settings, merge_task_overrides
from tfx_dags.common.errors import ConfigError
from tfx_dags.common.graph import PipelineGraph, TfxNode

SOURCE = Path("/srv/tfx/taxi_pipeline_simple.py")
NODES = (TfxNode("CsvExampleGen", "CsvExampleGen", ()), TfxNode("Trainer", "Trainer", ()))


def settings_of(airflow: dict[str, Any] | None) -> dict[str, Any]:
    return dag_settings(SOURCE, PipelineGraph("chicago_taxi_simple", NODES, airflow=airflow))


def test_taxi_pipeline_simples_own_config() -> None:
    settings = settings_of(
        {"schedule_interval": None, "start_date": {"datetime": "2019-01-01T00:00:00"}}
    )
    assert settings == {"schedule": None, "start_date": datetime(2019, 1, 1, tzinfo=UTC)}


def test_every_setting_tfx_dags_carries_over() -> None:
    settings = settings_of(
        {
            "schedule_interval": {"timedelta_s": 21600},
            "start_date": {"datetime": "2024-03-01T06:00:00+02:00"},
            "catchup": True,
            "max_active_runs": 2,
            "tags": ["tfx", "taxi"],
            "description": "Chicago taxi",
            "default_args": {
                "owner": "ml-platform",
                "retries": 3,
                "retry_delay": {"timedelta_s": 300},
                "execution_timeout": 7200,
            },
        }
    )
    assert settings["schedule"] == timedelta(hours=6)
    assert settings["start_date"] == datetime(2024, 3, 1, 4, tzinfo=UTC)
    assert (settings["catchup"], settings["max_active_runs"]) == (True, 2)
    assert settings["tags"] == ("tfx", "taxi") and settings["description"] == "Chicago taxi"
    assert (settings["owner"], settings["retries"]) == ("ml-platform", 3)
    assert settings["retry_delay"] == timedelta(minutes=5)
    assert settings["task_overrides"] == {
        node.node_id: TaskOverride(execution_timeout=timedelta(hours=2)) for node in NODES
    }


def test_a_schedule_key_wins_over_schedule_interval_and_none_is_airflow_3s_default() -> None:
    assert settings_of({"schedule": "@daily", "schedule_interval": "@hourly"}) == {
        "schedule": "@daily"
    }
    assert settings_of(None) == {}


@pytest.mark.parametrize(
    ("airflow", "message"),
    [
        ({"start_date": "2019-01-01"}, "start_date='2019-01-01' is not a datetime"),
        ({"schedule_interval": ["@daily"]}, "schedule_interval=.* is not a timedelta"),
        ({"default_args": ["owner"]}, "default_args=.* must be a mapping"),
        ({"default_args": {"retry_delay": "5m"}}, "retry_delay='5m' is not a timedelta"),
    ],
)
def test_settings_of_the_wrong_kind_name_the_file_and_key(
    airflow: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError, match=f"{SOURCE}: AirflowPipelineConfig {message}"):
        settings_of(airflow)


def test_the_declarations_task_overrides_keep_the_files_timeouts() -> None:
    settings = settings_of({"default_args": {"execution_timeout": {"timedelta_s": 3600}}})
    merged = merge_task_overrides(
        settings, {"Trainer": {"pool": "big_gpus", "execution_timeout": timedelta(hours=3)}}
    )
    assert merged["CsvExampleGen"] == TaskOverride(execution_timeout=timedelta(hours=1))
    assert merged["Trainer"] == TaskOverride(pool="big_gpus", execution_timeout=timedelta(hours=3))
    assert merge_task_overrides({}, {"Trainer": {"pool": "x"}}) == {"Trainer": {"pool": "x"}}
