"""tfx_dags.runner.example_gen_input: what a CsvExampleGen node is about to read, resolved
with TFX's own ExampleGen utilities from the node's bound exec properties."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from google.protobuf import json_format
from tfx.proto import example_gen_pb2
from tfx.proto.orchestration import pipeline_pb2

from tfx_dags.common.spans import date_to_span_number, static_range_json
from tfx_dags.runner.csv_check import InputDataError
from tfx_dags.runner.example_gen_input import SpanNotArrived, example_gen_input

MARCH_1 = date_to_span_number(date(2024, 3, 1))


def node(input_base: Path, pattern: str | None = None, range_config: str = "") -> object:
    """A CsvExampleGen node as the IR carries it once its RuntimeParameters are bound."""
    pipeline_node = pipeline_pb2.PipelineNode()
    parameters = pipeline_node.parameters.parameters
    parameters["input_base"].field_value.string_value = str(input_base)
    splits = [example_gen_pb2.Input.Split(name="single_split", pattern=pattern or "*")]
    parameters["input_config"].field_value.string_value = json_format.MessageToJson(
        example_gen_pb2.Input(splits=splits)
    )
    if range_config:
        parameters["range_config"].field_value.string_value = range_config
    return pipeline_node


@pytest.fixture
def days(tmp_path: Path) -> Path:
    for day, rows in (("2024-03-01", 3), ("2024-03-02", 2)):
        (tmp_path / day).mkdir()
        (tmp_path / day / "part.csv").write_text("a,b\n" + "1,2\n" * rows)
    return tmp_path


def test_a_static_range_reads_exactly_its_days_files(days: Path) -> None:
    found = example_gen_input(node(days, "{YYYY}-{MM}-{DD}/*", static_range_json(MARCH_1)))
    assert found is not None and found.span == MARCH_1 and found.has_span_spec
    assert found.files == (days / "2024-03-01" / "part.csv",)
    assert found.describe() == f"span {MARCH_1} of {days}"
    # Without a range, ExampleGen's own rule: the latest span.
    latest = example_gen_input(node(days, "{YYYY}-{MM}-{DD}/*"))
    assert latest is not None and latest.span == MARCH_1 + 1
    assert latest.files == (days / "2024-03-02" / "part.csv",)


def test_a_span_whose_files_have_not_arrived_names_its_date_and_path(days: Path) -> None:
    late = static_range_json(MARCH_1 + 5)
    # Retryable: the files may land before the task's next try.
    with pytest.raises(SpanNotArrived) as raised:
        example_gen_input(node(days, "{YYYY}-{MM}-{DD}/*", late))
    message = str(raised.value)
    assert f"no input for span {MARCH_1 + 5} (2024-03-06) under" in message
    assert not isinstance(raised.value, InputDataError)
    # A {SPAN} pattern's span is no date.
    (days / "span-1").mkdir()
    (days / "span-1" / "a.csv").write_text("a\n1\n")
    with pytest.raises(SpanNotArrived, match=r"no input for span 7 under .*span-\{SPAN\}/\*: its"):
        example_gen_input(node(days, "span-{SPAN}/*", static_range_json(7)))
    assert f"under {days}/{{YYYY}}-{{MM}}-{{DD}}/*: its files have not arrived" in message


def test_a_folder_without_patterns_is_read_whole(tmp_path: Path) -> None:
    flat = tmp_path / "flat"
    flat.mkdir()
    (flat / "a.csv").write_text("a\n1\n")
    found = example_gen_input(node(flat))
    assert found is not None and found.span == 0 and not found.has_span_spec
    assert found.files == (flat / "a.csv",) and found.describe() == f"input folder {flat}"
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputDataError, match=r"input folder .*/empty holds no files"):
        example_gen_input(node(empty))
    with pytest.raises(InputDataError, match=r"input folder .*/nowhere does not exist"):
        example_gen_input(node(tmp_path / "nowhere"))


def test_remote_storage_is_left_to_example_gen() -> None:
    pipeline_node = pipeline_pb2.PipelineNode()
    pipeline_node.parameters.parameters["input_base"].field_value.string_value = "gs://b/data"
    assert example_gen_input(pipeline_node) is None


def test_a_marker_file_matched_by_the_pattern_is_refused(days: Path) -> None:
    (days / "2024-03-01" / "_SUCCESS").write_text("")
    (days / "2024-03-01" / ".part-0.crc").write_text("")
    day = static_range_json(MARCH_1)
    with pytest.raises(
        InputDataError, match=r"_SUCCESS: a marker or hidden file, not data, matches"
    ):
        example_gen_input(node(days, "{YYYY}-{MM}-{DD}/*", day))
    found = example_gen_input(node(days, "{YYYY}-{MM}-{DD}/*.csv", day))
    assert found is not None and found.files == (days / "2024-03-01" / "part.csv",)
