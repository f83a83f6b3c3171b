"""tfx_dags.common.spans agrees with TFX's ExampleGen: its span numbers of dates, and the
RangeConfig its range_config RuntimeParameter holds."""

from __future__ import annotations

from datetime import date

from google.protobuf import json_format
from tfx.components.example_gen import utils
from tfx.proto import range_config_pb2

from tfx_dags.common.spans import date_to_span_number, span_number_to_date, static_range_json


def test_date_spans_are_numbered_as_tfx_numbers_them() -> None:
    for day in (date(1970, 1, 1), date(2024, 2, 29), date(2024, 3, 1), date(2031, 12, 31)):
        span = date_to_span_number(day)
        assert span == utils.date_to_span_number(day.year, day.month, day.day)
        assert utils.span_number_to_date(span) == (day.year, day.month, day.day)
        assert span_number_to_date(span) == day


def test_the_static_range_parses_as_example_gens_range_config() -> None:
    config = json_format.Parse(static_range_json(19783), range_config_pb2.RangeConfig())
    assert config.WhichOneof("range") == "static_range"
    assert config.static_range.start_span_number == 19783
    assert config.static_range.end_span_number == 19783
