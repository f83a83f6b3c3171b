from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from tfx_dags.config import PipelineDagConfig, parse_pipeline_ref
from tfx_dags.errors import ConfigError, TfxDagsError

GOOD = {"dag_id": "penguin_keras", "pipeline": "modules.penguin.pipeline:create_pipeline"}


def config(**overrides: Any) -> PipelineDagConfig:
    return PipelineDagConfig(**{**GOOD, **overrides})


def test_a_good_config_validates_and_returns_the_pipeline_reference() -> None:
    ref = config().validate()
    assert (ref.module, ref.function, ref.is_file) == (
        "modules.penguin.pipeline",
        "create_pipeline",
        False,
    )


def test_file_references_must_be_absolute_python_files() -> None:
    ref = parse_pipeline_ref("/srv/pipelines/churn.py:make")
    assert ref.is_file and ref.module == "/srv/pipelines/churn.py" and ref.function == "make"
    with pytest.raises(ConfigError, match="'pipelines/churn.py:make' is not a pipeline reference"):
        parse_pipeline_ref("pipelines/churn.py:make")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"dag_id": "penguin keras"}, r"dag_id='penguin keras' is not a valid Airflow DAG id"),
        ({"dag_id": "x" * 251}, "at most 250 characters"),
        ({"pipeline": "modules.penguin.pipeline"}, "is not a pipeline reference"),
        ({"pipeline": "modules..penguin:f"}, "is not a pipeline reference"),
        ({"pipeline_kwargs": ["data"]}, "pipeline_kwargs must be a mapping, got list"),
        ({"pipeline_kwargs": {"pipeline_root": "/x"}}, r"pipeline_kwargs\['pipeline_root'\]"),
        ({"pipeline_kwargs": {"data_root": object()}}, "must hold JSON values only"),
        ({"schedule": 5}, "schedule=5 must be a cron string"),
        ({"start_date": datetime(2024, 1, 1)}, "must be a timezone-aware datetime"),
        ({"retries": -1}, "retries=-1 must be an integer >= 0"),
        ({"retries": True}, "retries=True must be an integer >= 0"),
        ({"retry_delay": 60}, "retry_delay=60 must be a timedelta"),
        ({"retry_delay": timedelta(seconds=-1)}, "must be a timedelta >= 0"),
        ({"max_active_runs": 0}, "max_active_runs=0 must be an integer >= 1"),
        ({"owner": " "}, "owner=' ' must be a non-empty string"),
        ({"tags": "tfx"}, "tags='tfx' must be a sequence of strings"),
        ({"tags": ("tfx", 3)}, "must be a sequence of strings"),
    ],
)
def test_each_bad_field_is_named_in_the_error(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        config(**overrides).validate()


def test_config_errors_are_package_errors_and_value_errors() -> None:
    with pytest.raises(TfxDagsError):
        config(retries=-1).validate()
    with pytest.raises(ValueError):
        config(retries=-1).validate()
