"""``spans=``: each run's data interval picks the span its ExampleGen ingests.

A DAG that sets ``spans=IntervalSpans(...)`` names the pipeline's RuntimeParameter that is
its ExampleGen's ``range_config`` (a string parameter holding the ``RangeConfig`` proto as
JSON, which TFX's own API allows: ``CsvExampleGen(range_config=RuntimeParameter(...))``;
``training_pipeline(input_pattern=...)`` declares one). Each task binds it to a static
range of the span of its run's data interval (``tfx_dags.common.spans``): a daily DAG's run
of 2024-03-01 ingests span 2024-03-01 of a ``{YYYY}-{MM}-{DD}`` pattern, a backfill of 30
days ingests 30 spans, each once. TFX binds RuntimeParameters in each node, so one compile
serves every date. A run without a data interval (Airflow 3's manual, API and asset runs)
takes the parameter's value as given (its default, or the trigger's ``range_config``
value), or is refused (``without_interval="fail"``).

Checked at parse time: the schedule must give runs data intervals of one span; Airflow 3's
plain cron strings and timedeltas give zero-length intervals unless ``[scheduler]
create_cron_data_intervals`` is on, so that is a DAG import error naming the timetables that
do.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from tfx_dags.common.errors import ConfigError
from tfx_dags.common.graph import PipelineGraph
from tfx_dags.common.spans import IntervalError, SpanRule, static_range_json

WITHOUT_INTERVAL = ("given", "fail")
# The nodes that train read the window of spans; the others (StatisticsGen, ExampleValidator,
# ...) the run's own span.
WINDOW_NODE_TYPES = ("Transform", "Trainer", "Tuner")


@dataclass(frozen=True)
class IntervalSpans:
    """Bind each run's data interval to the one span its ExampleGen ingests.

    Args:
        range_config: the pipeline's RuntimeParameter (``ptype=str``) that its ExampleGen
            takes as ``range_config``. Default ``"range_config"`` (``training_pipeline``'s).
        span_period: None for date spans (``{YYYY}{MM}{DD}`` patterns: one span a day,
            numbered as TFX's ``date_to_span_number``, an interval of one day from midnight
            UTC); else the length of a ``{SPAN}`` pattern's span, span ``n`` being
            ``[span_epoch + n * span_period, span_epoch + (n + 1) * span_period)``.
            Default None.
        span_epoch: where span 0 of a ``{SPAN}`` pattern starts. Default 1970-01-01 UTC.
        without_interval: what a run without a data interval does (Airflow 3's manual, API
            and asset runs): ``"given"`` takes the parameter's value as the trigger gave it
            or its default (e.g. the latest span), ``"fail"`` refuses the run. Default
            ``"given"``.
        window: how many spans the nodes that train (Transform, Trainer, Tuner) read of the
            ExampleGen's output, the run's span the last: a run of span ``n`` reads spans
            ``n - window + 1`` to ``n`` by span number, as the runs of those intervals
            ingested them (a missing one fails the task, naming it). Default 1: the run's
            own span.
        example_gen: the ExampleGen node whose output the window selects from. Default: the
            pipeline's one ExampleGen.
    """

    range_config: str = "range_config"
    span_period: timedelta | None = None
    span_epoch: datetime = field(default_factory=lambda: datetime(1970, 1, 1, tzinfo=UTC))
    without_interval: str = "given"
    window: int = 1
    example_gen: str | None = None

    @property
    def rule(self) -> SpanRule:
        return SpanRule(self.span_period, self.span_epoch)

    def check(self) -> IntervalSpans:
        """Each field on its own (step 1 of the DAG's config). Raises ConfigError."""
        if not isinstance(self.range_config, str) or not self.range_config:
            raise ConfigError(
                f"spans.range_config={self.range_config!r} must name a RuntimeParameter"
            )
        if self.span_period is not None and (
            not isinstance(self.span_period, timedelta) or self.span_period <= timedelta(0)
        ):
            raise ConfigError(
                f"spans.span_period={self.span_period!r} must be a positive timedelta, or "
                "None for date spans"
            )
        if not isinstance(self.span_epoch, datetime) or self.span_epoch.tzinfo is None:
            raise ConfigError(
                f"spans.span_epoch={self.span_epoch!r} must be a datetime with a time zone"
            )
        if isinstance(self.window, bool) or not isinstance(self.window, int) or self.window < 1:
            raise ConfigError(
                f"spans.window={self.window!r} must be a whole number of spans, 1 or more"
            )
        if self.example_gen is not None and not isinstance(self.example_gen, str):
            raise ConfigError(f"spans.example_gen={self.example_gen!r} must be a node id")
        if self.without_interval not in WITHOUT_INTERVAL:
            raise ConfigError(
                f"spans.without_interval={self.without_interval!r} must be one of "
                f"{list(WITHOUT_INTERVAL)}"
            )
        return self

    def check_schedule(self, schedule: Any, start_date: datetime) -> None:
        """The schedule must give each run a data interval of one span."""
        use = (
            "use a timetable with intervals, e.g. schedule=CronDataIntervalTimetable("
            "'@daily', timezone='UTC') or CronTriggerTimetable('@daily', timezone='UTC', "
            "interval=timedelta(days=1)) from airflow.timetables"
        )
        if schedule is None or isinstance(schedule, list | tuple):
            raise ConfigError(
                f"spans= binds each run's data interval to a span: it needs a schedule; {use}"
            )
        described = _described(schedule)
        interval = _first_interval(schedule, start_date)
        if interval[0] == interval[1]:
            raise ConfigError(
                f"spans= binds each run's data interval to a span, but schedule={described} "
                "gives runs no data interval (Airflow 3's cron strings and timedeltas are "
                f"zero-length unless [scheduler] create_cron_data_intervals is on); {use}"
            )
        try:
            self.rule.span(*interval)
        except IntervalError as error:
            raise ConfigError(f"spans= with schedule={described}: {error}") from None

    def bind(self, graph: PipelineGraph) -> IntervalSpans:
        """The named RuntimeParameter must be one of the compiled pipeline's, a string, and
        the ExampleGen one of its nodes; returns the binding with its ExampleGen named."""
        parameters = {parameter.name: parameter for parameter in graph.runtime_parameters}
        parameter = parameters.get(self.range_config)
        if parameter is None:
            raise ConfigError(
                f"spans.range_config={self.range_config!r} is no RuntimeParameter of the "
                f"pipeline (it has {sorted(parameters)}); give its ExampleGen "
                f"range_config=RuntimeParameter(name={self.range_config!r}, ptype=str, "
                "default=<a RangeConfig as JSON>), or training_pipeline an input_pattern"
            )
        if parameter.type != "str":
            raise ConfigError(
                f"RuntimeParameter {self.range_config!r} is of type {parameter.type}; a "
                "range_config holds a RangeConfig as JSON, ptype=str"
            )
        example_gens = [
            node.node_id for node in graph.nodes if node.node_type.endswith("ExampleGen")
        ]
        if self.example_gen is None and len(example_gens) != 1:
            raise ConfigError(
                f"spans= needs example_gen= naming the ExampleGen whose spans the window "
                f"selects: the pipeline has {example_gens or 'none'}"
            )
        example_gen = self.example_gen or example_gens[0]
        if example_gen not in {node.node_id for node in graph.nodes}:
            raise ConfigError(
                f"spans.example_gen={example_gen!r} is no node of the pipeline; its "
                f"ExampleGens are {example_gens}"
            )
        return replace(self, example_gen=example_gen)

    def span(self, context: Mapping[str, Any]) -> int | None:
        """The span of this run's data interval; None for a run without one. Raises
        IntervalError for an interval that is no span, or a run without one when
        ``without_interval="fail"``."""
        start, end = context.get("data_interval_start"), context.get("data_interval_end")
        if start is None or end is None or start == end:
            if self.without_interval == "fail":
                raise IntervalError(
                    "this run has no data interval (a manual, API or asset run), and spans= "
                    "says without_interval='fail'; trigger it with a logical date, or run "
                    "a backfill of the dates to train on"
                )
            return None
        try:
            return self.rule.span(start, end)
        except IntervalError:
            if _run_type(context) != "manual":
                raise
            # A manual run with a logical date: its interval is the trigger time's, not a
            # span's; it reads the last whole span before it.
            return self.rule.last_whole_span(end)

    def value(self, span: int | None) -> tuple[str | None, str]:
        """The parameter's value in a run of ``span`` (``span``'s answer; None: a run without
        an interval, the value as given), and a line for the task log."""
        if span is None:
            return None, f"no data interval: {self.range_config} as given"
        start, end = self.rule.interval(span)
        return static_range_json(span), (
            f"data interval {start.isoformat()} to {end.isoformat()}: span {span}"
        )

    def windows(
        self, span: int | None, node_type: str, input_channels: Sequence[Sequence[str]]
    ) -> dict[str, dict[str, Any]]:
        """What a node reads of the window ending at ``span``, by input key: the producer,
        its output key and the first and last span; none for a node that does not train,
        a window of one span (the run's own output is it), or a run without a span."""
        if (
            span is None
            or self.window == 1
            or node_type.rsplit(".", 1)[-1] not in WINDOW_NODE_TYPES
        ):
            return {}
        first = span - self.window + 1
        return {
            key: {"producer": producer, "output": output, "first": first, "last": span}
            for key, producer, output in input_channels
            if producer == self.example_gen
        }


def as_interval_spans(value: object) -> IntervalSpans | None:
    """``spans=`` as an ``IntervalSpans`` (a mapping of its fields is one), checked."""
    if value is None:
        return None
    if isinstance(value, IntervalSpans):
        return value.check()
    if isinstance(value, Mapping):
        try:
            return IntervalSpans(**value).check()
        except TypeError as error:
            raise ConfigError(f"spans={dict(value)!r}: {error}") from None
    raise ConfigError(f"spans={value!r} must be an IntervalSpans, a mapping of its fields or None")


def _run_type(context: Mapping[str, Any]) -> str:
    run_type = getattr(context.get("dag_run"), "run_type", "")
    return str(getattr(run_type, "value", run_type))


def _described(schedule: Any) -> str:
    if isinstance(schedule, str | timedelta):
        return repr(schedule)
    return f"{type(schedule).__name__}({getattr(schedule, 'summary', '')!r})"


def _first_interval(schedule: Any, start_date: datetime) -> tuple[datetime, datetime]:
    """The data interval Airflow gives a run of this schedule, as its own timetable makes
    it (with this deployment's create_cron_data_intervals)."""
    from airflow.sdk import DAG

    timetable = DAG("tfx_dags_schedule_probe", schedule=schedule, start_date=start_date).timetable
    if not hasattr(timetable, "infer_manual_data_interval"):
        from airflow.serialization.encoders import coerce_to_core_timetable

        timetable = coerce_to_core_timetable(timetable)
    import pendulum

    run_after = pendulum.instance(start_date + timedelta(days=30))
    interval = timetable.infer_manual_data_interval(run_after=run_after)
    return (interval.start, interval.end)
