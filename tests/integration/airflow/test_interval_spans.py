"""spans=: each run's data interval binds the span its ExampleGen ingests, and the Trainer
reads the window of spans ending there by span number, through the real
training_pipeline(input_pattern=...) compiled once and TFX's own components run by the DAG's
tasks (tfx_dags.airflow.interval_spans, tfx_dags.runner.span_window). One run of each task
per interval, shared by the tests of the module."""

from __future__ import annotations

import json
import subprocess
import textwrap
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowException, AirflowFailException
from airflow.timetables.interval import CronDataIntervalTimetable

from tfx_dags import pipeline_dag
from tfx_dags.airflow.interval_spans import IntervalSpans
from tfx_dags.common import settings
from tfx_dags.common.spans import date_to_span_number
from tfx_dags.mlmd.contexts import generation_name

DAY = timedelta(days=1)
FIRST = datetime(2024, 3, 1, tzinfo=UTC)
SPANS = [date_to_span_number((FIRST + day * DAY).date()) for day in range(3)]
RESOLVER = "latest_blessed_model_resolver"
TRAINING = (RESOLVER, "StatisticsGen", "SchemaGen", "ExampleValidator", "Trainer")
# What the node runner recorded of each run in ML Metadata, read there with ml_metadata.
RECORDED = textwrap.dedent(
    """
    import json, sys
    from ml_metadata import metadata_store
    from ml_metadata.proto import metadata_store_pb2
    config = metadata_store_pb2.ConnectionConfig()
    config.sqlite.filename_uri = sys.argv[1]
    store = metadata_store.MetadataStore(config)
    def plain(properties):
        return {k: getattr(v, v.WhichOneof("value")) for k, v in properties.items()
                if k.startswith("tfx_dags_")}
    runs = {c.name: plain(c.custom_properties) for c in store.get_contexts_by_type("pipeline_run")}
    executions = {}
    for context in store.get_contexts_by_type("node"):
        for execution in store.get_executions_by_context(context.id):
            executions.setdefault(context.name.split(".")[-1], []).append(
                plain(execution.custom_properties))
    print(json.dumps({"runs": runs, "executions": executions}))
    """
)


def run_task(
    dag: Any, task_id: str, run_id: str, day: int | None, *, cleared: int = 0
) -> dict[str, Any]:
    """The DAG's task run as the worker runs it, in the context of the run of ``day``'s
    interval (None: a run without one), cleared ``cleared`` times (Airflow's clear_number:
    a backfill's reprocess clears the run); what its node wrote, as ML Metadata recorded it."""
    interval = {}
    if day is not None:
        start = FIRST + day * DAY
        interval = {"data_interval_start": start, "data_interval_end": start + DAY}
    task = dag.get_task(task_id)
    dag_run = SimpleNamespace(clear_number=cleared)
    task.execute({"run_id": run_id, "params": dag.params.dump(), "dag_run": dag_run, **interval})
    return dict(task._node_result)


@pytest.fixture(scope="module")
def daily(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Three days of penguins, a day a folder ({YYYY}-{MM}-{DD}), of 100, 80 and 60 rows;
    the daily DAG of the standard training pipeline over them with a window of 3 spans;
    the ExampleGen of each day's run (a backfill going back in time, then the newest day),
    one run without an interval, and the newest day's run trained on the window."""
    home = tmp_path_factory.mktemp("spans")
    header, *rows = (settings.PROJECT_ROOT / "data/penguin/penguins.csv").read_text().splitlines()
    sizes = {}
    for day, (start, count) in enumerate([(0, 100), (100, 80), (180, 60)]):
        folder = home / "data" / (FIRST + day * DAY).strftime("%Y-%m-%d")
        folder.mkdir(parents=True)
        text = "\n".join([header, *rows[start : start + count]]) + "\n"
        (folder / "penguins.csv").write_text(text)
        sizes[SPANS[day]] = len(text.encode())
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
                "train_steps": 5,
                "eval_steps": 2,
            },
            schedule=CronDataIntervalTimetable("@daily", timezone="UTC"),
            start_date=FIRST,
            owner="ml-platform",
            spans=IntervalSpans(window=3),
        )
        ingested = {
            day: run_task(dag, "CsvExampleGen", f"scheduled__{day}", day) for day in (1, 0, 2)
        }
        without_interval = run_task(dag, "CsvExampleGen", "manual__no_interval", None)
        trained = {task_id: run_task(dag, task_id, "scheduled__2", 2) for task_id in TRAINING}
        # A retry of a task that already succeeded in its run: reused.
        retried = run_task(dag, "Trainer", "scheduled__2", 2)
        # Reprocess (airflow backfill create --reprocess-behavior completed): day 0's file is
        # corrected, then the runs of days 0 and 2 are cleared and run again, whole.
        corrected = home / "data" / FIRST.strftime("%Y-%m-%d") / "penguins.csv"
        corrected.write_text(corrected.read_text() + rows[300] + "\n")
        reprocessed = {
            "CsvExampleGen@0": run_task(dag, "CsvExampleGen", "scheduled__0", 0, cleared=1)
        }
        for task_id in ("CsvExampleGen", *TRAINING):
            reprocessed[task_id] = run_task(dag, task_id, "scheduled__2", 2, cleared=1)
        store = home / "tfx" / "metadata.sqlite"
        read = subprocess.run(
            [str(settings.tfx_python()), "-c", RECORDED, str(store)],
            capture_output=True,
            text=True,
            check=True,
        )
        yield {
            "recorded": json.loads(read.stdout),
            "dag": dag,
            "sizes": sizes,
            "ingested": ingested,
            "without_interval": without_interval,
            "trained": trained,
            "retried": retried,
            "reprocessed": reprocessed,
        }


def test_each_interval_ingests_its_own_span_from_one_compile(daily: dict[str, Any]) -> None:
    # The pipeline's RuntimeParameter: a run parameter whose default is the latest span.
    assert json.loads(daily["dag"].params["range_config"]) == {"rollingRange": {"numSpans": 1}}
    for day, result in daily["ingested"].items():
        [examples] = result["outputs"]["examples"]
        span = examples["custom_properties"]["span"]
        assert span == SPANS[day]
        # Exactly that day's file: its size is in the fingerprint ExampleGen recorded.
        fingerprint = examples["custom_properties"]["input_fingerprint"]
        assert f"total_bytes:{daily['sizes'][span]}" in fingerprint, fingerprint
    # A manual run without a logical date takes the parameter as given: the latest span.
    [latest] = daily["without_interval"]["outputs"]["examples"]
    assert latest["custom_properties"]["span"] == SPANS[2]


def test_the_trainer_reads_the_window_by_span_and_the_rest_the_runs_own_span(
    daily: dict[str, Any],
) -> None:
    ingested = {
        day: result["outputs"]["examples"][0]["id"] for day, result in daily["ingested"].items()
    }
    trained = daily["trained"]
    window = trained["Trainer"]["inputs"]["examples"]
    # Oldest span first, each the Examples its own interval's run ingested.
    assert [examples["custom_properties"]["span"] for examples in window] == SPANS
    assert [examples["id"] for examples in window] == [ingested[day] for day in range(3)]
    assert trained["Trainer"]["outputs"]["model"], "the Trainer wrote no model"
    # No model of an earlier window is blessed: the Evaluator's baseline is none (TFX's own
    # strategy, over every run, would pick the newest blessed model).
    assert trained[RESOLVER]["outputs"].get("model", []) == []
    # StatisticsGen describes the run's new data only: its own span.
    [statistics_input] = trained["StatisticsGen"]["inputs"]["examples"]
    assert statistics_input["id"] == ingested[2]


def test_ml_metadata_records_each_runs_interval_and_the_window_read(
    daily: dict[str, Any],
) -> None:
    runs, executions = daily["recorded"]["runs"], daily["recorded"]["executions"]
    second = {day: generation_name(f"scheduled__{day}", 2, "penguin_spans") for day in (0, 2)}
    for run_id, day, cleared in [
        ("scheduled__0", 0, 0),
        ("scheduled__1", 1, 0),
        ("scheduled__2", 2, 0),
        (second[0], 0, 1),
        (second[2], 2, 1),
    ]:
        start = FIRST + day * DAY
        assert {k: v for k, v in runs[run_id].items() if "next_generation" not in k} == {
            "tfx_dags_data_interval_start": start.isoformat(),
            "tfx_dags_data_interval_end": (start + DAY).isoformat(),
            "tfx_dags_span": SPANS[day],
            "tfx_dags_clear_number.penguin_spans": cleared,
        }
    # The reprocess opened each second generation from its first.
    assert runs["scheduled__0"]["tfx_dags_next_generation_clear.penguin_spans"] == 1
    # A run without an interval records none.
    assert runs["manual__no_interval"] == {"tfx_dags_clear_number.penguin_spans": 0}
    trainer = executions["Trainer"][0]
    assert trainer["tfx_dags_window_first_span"] == SPANS[0]
    assert trainer["tfx_dags_window_last_span"] == SPANS[2]
    assert trainer["tfx_dags_span"] == SPANS[2]
    assert "tfx_dags_window_first_span" not in executions["StatisticsGen"][0]


def test_a_retry_reuses_and_a_reprocess_recomputes_what_changed_only(
    daily: dict[str, Any],
) -> None:
    def ids(result: dict[str, Any], side: str, key: str) -> list[int]:
        return [artifact["id"] for artifact in result[side][key]]

    trained, reprocessed = daily["trained"], daily["reprocessed"]
    # A retried task: the node that already succeeded in its run is reused, not run again.
    assert (
        daily["retried"]["reused"]
        and daily["retried"]["execution_id"] == (trained["Trainer"]["execution_id"])
    )
    # The reprocessed runs are new TFX runs (generations), where TFX's cache decides: day 0's
    # corrected file is ingested anew, day 2's unchanged one (and its statistics) reused.
    day0_before = ids(daily["ingested"][0], "outputs", "examples")
    day0_after = ids(reprocessed["CsvExampleGen@0"], "outputs", "examples")
    assert day0_after != day0_before and not reprocessed["CsvExampleGen@0"]["reused"]
    day2 = ids(daily["ingested"][2], "outputs", "examples")
    assert ids(reprocessed["CsvExampleGen"], "outputs", "examples") == day2
    statistics = ids(trained["StatisticsGen"], "outputs", "statistics")
    assert ids(reprocessed["StatisticsGen"], "outputs", "statistics") == statistics
    # The window holding day 0 is recomputed, on the corrected span.
    window = ids(reprocessed["Trainer"], "inputs", "examples")
    assert (
        window[0] == day0_after[0]
        and window[1:] == ids(trained["Trainer"], "inputs", "examples")[1:]
    )
    assert ids(reprocessed["Trainer"], "outputs", "model") != ids(
        trained["Trainer"], "outputs", "model"
    )


def test_a_window_with_a_span_no_run_ingested_fails_naming_it(daily: dict[str, Any]) -> None:
    # The run of the fourth day, whose ExampleGen has not run: spans 2 to 4 of the window.
    with pytest.raises(AirflowException, match=rf"no run has ingested span {SPANS[2] + 1}: run"):
        run_task(daily["dag"], "Trainer", "scheduled__3", 3)


def test_an_interval_that_is_no_span_fails_the_task_before_any_work(
    daily: dict[str, Any],
) -> None:
    task = daily["dag"].get_task("CsvExampleGen")
    context = {
        "run_id": "scheduled__two_days",
        "params": daily["dag"].params.dump(),
        "data_interval_start": FIRST,
        "data_interval_end": FIRST + 2 * DAY,
    }
    with pytest.raises(AirflowFailException, match=r"spans: data interval .* is 2 days"):
        task.execute(context)
