"""Which TFX span a run's data interval is: the arithmetic of ``spans=`` (``IntervalSpans``).

TFX's ExampleGen numbers the spans of an input pattern two ways: ``{YYYY}{MM}{DD}`` patterns
by the day (``date_to_span_number``: days since 1970-01-01), ``{SPAN}`` patterns by whatever
integer the folders carry. A run's data interval names one span: for date patterns the day
it starts (an interval of one day), for ``{SPAN}`` patterns its place after an epoch in
periods of a fixed length. The span reaches ExampleGen as a ``RangeConfig`` with a static
range of that one span, the JSON value of the pipeline's RuntimeParameter that ExampleGen's
``range_config`` is (TFX binds it in the node: one compile serves every date).

Standard library only: the factory checks a binding at parse time, the operator computes a
run's span, and neither imports TFX.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from tfx_dags.common.errors import ConfigError

# TFX's date_to_span_number counts days from this date (tfx/components/example_gen/utils.py).
SPAN_DATE_ZERO = date(1970, 1, 1)
ONE_DAY = timedelta(days=1)


class IntervalError(ConfigError):
    """A run's data interval is no span of the DAG's ``spans=`` rule."""


@dataclass(frozen=True)
class SpanRule:
    """How a data interval becomes a span number. ``period`` None: date spans (one a day,
    numbered as TFX's ``date_to_span_number``); else ``{SPAN}`` numbers, span ``n`` being the
    interval ``[epoch + n * period, epoch + (n + 1) * period)``."""

    period: timedelta | None = None
    epoch: datetime = datetime(1970, 1, 1, tzinfo=UTC)

    @property
    def length(self) -> timedelta:
        return ONE_DAY if self.period is None else self.period

    def span(self, start: datetime, end: datetime) -> int:
        """The span of the interval ``[start, end)``; IntervalError when the interval is not
        exactly one span."""
        start, end = _utc(start), _utc(end)
        if end - start != self.length:
            raise IntervalError(
                f"data interval {start.isoformat()} to {end.isoformat()} is "
                f"{end - start}, not one span ({self.length}); give the DAG a schedule "
                "whose intervals are one span long"
            )
        if self.period is None:
            if start.time() != datetime.min.time():
                raise IntervalError(
                    f"data interval {start.isoformat()} does not start at midnight UTC; a "
                    "date span ({YYYY}{MM}{DD}) is one day in UTC"
                )
            return date_to_span_number(start.date())
        offset = start - _utc(self.epoch)
        if offset < timedelta(0):
            raise IntervalError(
                f"data interval {start.isoformat()} starts before span 0, at "
                f"{self.epoch.isoformat()}"
            )
        if offset % self.period:
            raise IntervalError(
                f"data interval {start.isoformat()} does not start a span: spans start every "
                f"{self.period} from {self.epoch.isoformat()}"
            )
        return offset // self.period

    def last_whole_span(self, end: datetime) -> int:
        """The last span that ends at or before ``end``: what a manual run whose interval is
        not one span reads (Airflow gives a manual run of a trigger timetable the interval
        ending when it was triggered, 14:37 to 14:37)."""
        end = _utc(end)
        if self.period is None:
            return date_to_span_number(end.date()) - 1
        return (end - _utc(self.epoch)) // self.period - 1

    def interval(self, span: int) -> tuple[datetime, datetime]:
        """The data interval of a span (for logs and what ML Metadata records)."""
        if self.period is None:
            start = datetime.combine(span_number_to_date(span), datetime.min.time(), UTC)
        else:
            start = _utc(self.epoch) + span * self.period
        return start, start + self.length


def date_to_span_number(day: date) -> int:
    """TFX's ``date_to_span_number``: the span of a ``{YYYY}{MM}{DD}`` folder."""
    return (day - SPAN_DATE_ZERO).days


def span_number_to_date(span: int) -> date:
    return SPAN_DATE_ZERO + timedelta(days=span)


def static_range_json(span: int) -> str:
    """ExampleGen's ``RangeConfig`` of exactly one span, as the JSON that
    ``json_format.Parse`` reads (the value of a ``range_config`` RuntimeParameter)."""
    return json.dumps({"staticRange": {"startSpanNumber": span, "endSpanNumber": span}})


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise IntervalError(f"{moment!r} has no time zone")
    utc = moment.astimezone(UTC)
    # A plain datetime: Airflow hands pendulum's, whose durations do not divide timedeltas.
    return datetime(*utc.timetuple()[:6], utc.microsecond, tzinfo=UTC)
