from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest

from tfx_dags.common.spans import (
    IntervalError,
    SpanRule,
    date_to_span_number,
    span_number_to_date,
    static_range_json,
)

DAY = timedelta(days=1)


def test_a_day_is_the_span_of_its_date_as_tfx_numbers_it() -> None:
    # TFX's date_to_span_number(2024, 3, 1): days since 1970-01-01 (checked against TFX's
    # own in tests/tfx_unit).
    assert date_to_span_number(date(1970, 1, 1)) == 0
    assert date_to_span_number(date(2024, 3, 1)) == 19783
    assert span_number_to_date(19783) == date(2024, 3, 1)
    start = datetime(2024, 3, 1, tzinfo=UTC)
    rule = SpanRule()
    assert rule.span(start, start + DAY) == 19783
    assert rule.interval(19783) == (start, start + DAY)


def test_an_interval_that_is_not_one_date_span_is_refused() -> None:
    rule = SpanRule()
    start = datetime(2024, 3, 1, tzinfo=UTC)
    with pytest.raises(IntervalError, match=r"is 7 days, 0:00:00, not one span \(1 day"):
        rule.span(start, start + 7 * DAY)
    with pytest.raises(IntervalError, match="does not start at midnight UTC"):
        rule.span(start + timedelta(hours=6), start + timedelta(hours=30))
    with pytest.raises(IntervalError, match="has no time zone"):
        rule.span(datetime(2024, 3, 1), datetime(2024, 3, 2))


def test_a_span_pattern_counts_periods_from_its_epoch() -> None:
    epoch = datetime(2024, 1, 1, tzinfo=UTC)
    rule = SpanRule(period=timedelta(hours=6), epoch=epoch)
    start = epoch + timedelta(hours=18)
    assert rule.span(start, start + timedelta(hours=6)) == 3
    assert rule.interval(3) == (start, start + timedelta(hours=6))
    with pytest.raises(IntervalError, match="does not start a span: spans start every 6:00:00"):
        rule.span(start + timedelta(hours=1), start + timedelta(hours=7))
    # Another time zone, the same instant.
    paris = start.astimezone(datetime.now().astimezone().tzinfo)
    assert rule.span(paris, paris + timedelta(hours=6)) == 3


def test_the_range_config_is_a_static_range_of_one_span_as_tfx_parses_it() -> None:
    assert json.loads(static_range_json(19783)) == {
        "staticRange": {"startSpanNumber": 19783, "endSpanNumber": 19783}
    }
