"""One encoding of an AirflowDagRunner file's dates and durations, both directions."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from tfx_dags.common import json_dates


@pytest.mark.parametrize(
    "moment",
    [datetime(2019, 1, 1), datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)],
)
def test_a_datetime_round_trips(moment: datetime) -> None:
    assert json_dates.decode_datetime(json_dates.encode("start_date", moment)) == moment


def test_a_date_is_its_midnight() -> None:
    encoded = json_dates.encode("start_date", date(2019, 1, 2))
    assert encoded == {"datetime": "2019-01-02T00:00:00"}
    assert json_dates.decode_datetime(encoded) == datetime(2019, 1, 2)


def test_a_timedelta_round_trips_and_bare_seconds_are_read_too() -> None:
    delay = timedelta(minutes=5, microseconds=1)
    assert json_dates.decode_timedelta(json_dates.encode("retry_delay", delay)) == delay
    assert json_dates.decode_timedelta(30) == timedelta(seconds=30)
    assert json_dates.decode_timedelta(True) is None
    assert json_dates.decode_timedelta({"datetime": "2019-01-01"}) is None
    assert json_dates.decode_datetime({"timedelta_s": 3}) is None


def test_nested_values_are_encoded_and_others_are_named() -> None:
    settings = {"default_args": {"retry_delay": timedelta(seconds=2), "owner": "me"}}
    assert json_dates.encode("dag", settings) == {
        "default_args": {"retry_delay": {"timedelta_s": 2.0}, "owner": "me"}
    }
    with pytest.raises(json_dates.UnencodableValue, match=r"dag.default_args.x=\{1\} is a set"):
        json_dates.encode("dag", {"default_args": {"x": {1}}})
