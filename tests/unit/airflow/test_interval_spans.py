from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from airflow.timetables.interval import CronDataIntervalTimetable
from airflow.timetables.trigger import CronTriggerTimetable

from tfx_dags.airflow.dag_config import PipelineDagConfig
from tfx_dags.airflow.interval_spans import IntervalSpans
from tfx_dags.common.errors import ConfigError
from tfx_dags.common.graph import PipelineGraph, RuntimeParameter, TfxNode
from tfx_dags.common.spans import IntervalError

DAILY = CronDataIntervalTimetable("@daily", timezone="UTC")
START = datetime(2024, 3, 1, tzinfo=UTC)


def config(**overrides: Any) -> PipelineDagConfig:
    settings = {
        "dag_id": "penguin_daily",
        "pipeline": "modules.penguin.pipeline:create_pipeline",
        "schedule": DAILY,
        "spans": IntervalSpans(),
    }
    return PipelineDagConfig(**{**settings, **overrides})


def graph(*parameters: RuntimeParameter) -> PipelineGraph:
    nodes = (TfxNode("CsvExampleGen", "CsvExampleGen", (), is_beam=True),)
    return PipelineGraph("penguin_daily", nodes, runtime_parameters=parameters)


def test_timetables_with_intervals_of_one_day_bind_date_spans() -> None:
    hourly_trigger = CronTriggerTimetable("@daily", timezone="UTC", interval=timedelta(days=1))
    for schedule in (DAILY, hourly_trigger):
        assert config(schedule=schedule).check().spans == IntervalSpans()
    assert config(spans={"without_interval": "fail"}).check().spans == IntervalSpans(
        without_interval="fail"
    )


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        ("@daily", r"schedule='@daily' gives runs no data interval .*create_cron_data_intervals"),
        (timedelta(days=1), r"timedelta\(days=1\) gives runs no data interval"),
        (None, "it needs a schedule; use a timetable with intervals"),
        (
            CronDataIntervalTimetable("@weekly", timezone="UTC"),
            r"CronDataIntervalTimetable\('0 0 \* \* 0'\).*is 7 days, 0:00:00, not one span \(1 day",
        ),
        (
            CronDataIntervalTimetable("0 6 * * *", timezone="UTC"),
            "does not start at midnight UTC",
        ),
    ],
)
def test_a_schedule_without_intervals_of_one_span_is_a_dag_error(
    schedule: object, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        config(schedule=schedule).check()


def test_a_span_pattern_takes_any_period_its_schedule_has() -> None:
    six_hours = CronDataIntervalTimetable("0 */6 * * *", timezone="UTC")
    spans = IntervalSpans(span_period=timedelta(hours=6))
    assert config(schedule=six_hours, spans=spans).check().spans == spans


@pytest.mark.parametrize(
    ("spans", "message"),
    [
        ({"range_config": ""}, "spans.range_config='' must name a RuntimeParameter"),
        ({"span_period": timedelta(0)}, "must be a positive timedelta"),
        ({"span_epoch": datetime(2024, 1, 1)}, "must be a datetime with a time zone"),
        ({"without_interval": "latest"}, r"must be one of \['given', 'fail'\]"),
        ({"window": 0}, r"spans.window=0 must be a whole number of spans, 1 or more"),
        ({"window": True}, "must be a whole number of spans"),
        ({"late_data": 7}, "unexpected keyword argument 'late_data'"),
        ("daily", "must be an IntervalSpans, a mapping of its fields or None"),
    ],
)
def test_bad_spans_settings_are_named(spans: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        config(spans=spans).check()


def test_the_range_config_must_be_a_string_runtime_parameter_of_the_pipeline() -> None:
    checked = config().check()
    checked.bind(graph(RuntimeParameter("range_config", "str", "{}")))
    with pytest.raises(
        ConfigError, match=r"is no RuntimeParameter of the pipeline \(it has \[\]\)"
    ):
        checked.bind(graph())
    with pytest.raises(ConfigError, match="is of type int; a range_config holds a RangeConfig"):
        checked.bind(graph(RuntimeParameter("range_config", "int", 0)))


def value_of(spans: IntervalSpans, context: dict[str, Any]) -> tuple[str | None, str]:
    """The range_config value and log line of a run with this context, as a task has them."""
    return spans.value(spans.span(context))


def test_a_runs_interval_gives_its_span_and_a_run_without_one_what_it_says() -> None:
    spans = IntervalSpans()
    value, line = value_of(
        spans, {"data_interval_start": START, "data_interval_end": START + timedelta(days=1)}
    )
    assert json.loads(value or "")["staticRange"] == {
        "startSpanNumber": 19783,
        "endSpanNumber": 19783,
    }
    assert (
        line == "data interval 2024-03-01T00:00:00+00:00 to 2024-03-02T00:00:00+00:00: span 19783"
    )
    # Airflow 3's manual, API and asset runs: no interval keys, or an empty interval.
    assert value_of(spans, {}) == (None, "no data interval: range_config as given")
    assert value_of(spans, {"data_interval_start": START, "data_interval_end": START})[0] is None
    with pytest.raises(IntervalError, match="this run has no data interval"):
        value_of(IntervalSpans(without_interval="fail"), {})
    with pytest.raises(IntervalError, match="not one span"):
        value_of(
            spans, {"data_interval_start": START, "data_interval_end": START + timedelta(days=2)}
        )


def test_the_example_gen_is_the_pipelines_one_and_the_window_reaches_training_nodes() -> None:
    parameter = RuntimeParameter("range_config", "str", "{}")
    two = PipelineGraph(
        "penguin_daily",
        (
            TfxNode("CsvExampleGen", "tfx.components.CsvExampleGen", (), is_beam=True),
            TfxNode("Other", "tfx.components.ImportExampleGen", (), is_beam=True),
        ),
        runtime_parameters=(parameter,),
    )
    with pytest.raises(
        ConfigError, match=r"needs example_gen= .* has \['CsvExampleGen', 'Other'\]"
    ):
        config().check().bind(two)
    bound = config(spans={"example_gen": "Other", "window": 3}).check().bind(two).spans
    assert bound is not None and bound.example_gen == "Other"
    channels = [("examples", "Other", "examples"), ("schema", "SchemaGen", "schema")]
    assert bound.windows(19785, "tfx.components.trainer.component.Trainer", channels) == {
        "examples": {"producer": "Other", "output": "examples", "first": 19783, "last": 19785}
    }
    # Not a training node, no span (a run without an interval), or a window of one: none.
    assert bound.windows(19785, "tfx.components.StatisticsGen", channels) == {}
    assert bound.windows(None, "Trainer", channels) == {}
    assert IntervalSpans(example_gen="Other").windows(19785, "Trainer", channels) == {}
    with pytest.raises(ConfigError, match="spans.example_gen='Nope' is no node of the pipeline"):
        config(spans={"example_gen": "Nope"}).check().bind(two)


def test_a_manual_run_at_any_time_reads_the_last_whole_span_before_it() -> None:
    # Airflow gives a manual run of CronTriggerTimetable(..., interval=1 day) the day up to
    # the trigger time: 2024-03-01 14:37 to 2024-03-02 14:37.
    end = datetime(2024, 3, 2, 14, 37, tzinfo=UTC)
    manual = {
        "data_interval_start": end - timedelta(days=1),
        "data_interval_end": end,
        "dag_run": SimpleNamespace(run_type="manual"),
    }
    assert IntervalSpans().span(manual) == 19783  # 2024-03-01
    with pytest.raises(IntervalError, match="does not start at midnight UTC"):
        IntervalSpans().span({**manual, "dag_run": SimpleNamespace(run_type="scheduled")})
    six_hours = IntervalSpans(span_period=timedelta(hours=6), span_epoch=START)
    assert six_hours.span(manual) == 5  # ends 2024-03-02 12:00
