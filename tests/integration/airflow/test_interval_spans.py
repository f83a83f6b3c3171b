"""spans=: each run's data interval binds the span its ExampleGen ingests, through the real
training_pipeline(input_pattern=...) compiled once, and TFX's own ExampleGen run by the
DAG's task for several intervals (tfx_dags.airflow.interval_spans)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowFailException
from airflow.timetables.interval import CronDataIntervalTimetable

from tfx_dags import pipeline_dag
from tfx_dags.airflow.interval_spans import IntervalSpans
from tfx_dags.common import settings
from tfx_dags.common.spans import date_to_span_number

DAY = timedelta(days=1)
FIRST = datetime(2024, 3, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def daily(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Three days of penguins, a day a folder ({YYYY}-{MM}-{DD}), of 100, 80 and 60 rows,
    and the daily DAG of the standard training pipeline over them."""
    home = tmp_path_factory.mktemp("spans")
    header, *rows = (settings.PROJECT_ROOT / "data/penguin/penguins.csv").read_text().splitlines()
    sizes = {}
    for day, (start, count) in enumerate([(0, 100), (100, 80), (180, 60)]):
        folder = home / "data" / (FIRST + day * DAY).strftime("%Y-%m-%d")
        folder.mkdir(parents=True)
        text = "\n".join([header, *rows[start : start + count]]) + "\n"
        (folder / "penguins.csv").write_text(text)
        sizes[date_to_span_number((FIRST + day * DAY).date())] = len(text.encode())
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TFX_DAGS_HOME", str(home / "tfx"))
        dag = pipeline_dag(
            dag_id="penguin_spans",
            pipeline="tfx_dags.authoring.pipelines:training_pipeline",
            pipeline_kwargs={
                "data_root": str(home / "data"),
                "input_pattern": "{YYYY}-{MM}-{DD}/*.csv",
                "serving_model_dir": str(home / "serving"),
                "trainer_module": "modules.penguin.keras_raw",
                "label_key": "species",
            },
            schedule=CronDataIntervalTimetable("@daily", timezone="UTC"),
            start_date=FIRST,
            owner="ml-platform",
            spans=IntervalSpans(),
        )
        yield {"dag": dag, "sizes": sizes, "home": home}


def ingest(dag: Any, run_id: str, **interval: datetime) -> dict[str, Any]:
    """The DAG's ExampleGen task run as the worker runs it, with this run's context; the
    Examples artifact its node wrote, as ML Metadata recorded it."""
    task = dag.get_task("CsvExampleGen")
    task.execute({"run_id": run_id, "params": dag.params.dump(), **interval})
    [examples] = task._node_result["outputs"]["examples"]
    return examples


def test_each_interval_ingests_its_own_span_from_one_compile(daily: dict[str, Any]) -> None:
    dag, sizes = daily["dag"], daily["sizes"]
    parameter = dag.params["range_config"]
    # The pipeline's RuntimeParameter: a run parameter whose default is the latest span.
    assert json.loads(parameter) == {"rollingRange": {"numSpans": 1}}
    spans = []
    for day in (1, 0):  # a backfill may go back in time
        start = FIRST + day * DAY
        examples = ingest(
            dag,
            f"scheduled__{start.isoformat()}",
            data_interval_start=start,
            data_interval_end=start + DAY,
        )
        span = examples["custom_properties"]["span"]
        assert span == date_to_span_number(start.date())
        # Exactly that day's file: its size is in the fingerprint ExampleGen recorded.
        fingerprint = examples["custom_properties"]["input_fingerprint"]
        assert f"total_bytes:{sizes[span]}" in fingerprint, fingerprint
        spans.append(span)
    assert spans == [19784, 19783]
    # A manual run without a logical date takes the parameter as given: the latest span.
    latest = ingest(dag, "manual__no_interval")
    assert latest["custom_properties"]["span"] == max(sizes)


def test_an_interval_that_is_no_span_fails_the_task_before_any_work(
    daily: dict[str, Any],
) -> None:
    with pytest.raises(AirflowFailException, match=r"spans: data interval .* is 2 days"):
        ingest(
            daily["dag"],
            "scheduled__two_days",
            data_interval_start=FIRST,
            data_interval_end=FIRST + 2 * DAY,
        )
