"""The files a CsvExampleGen node is about to read: its input patterns under its input base,
with the span its ``range_config`` selects, resolved by TFX's own ExampleGen utilities.

Run before TFX's launcher registers an execution, so that a span whose files are missing
(late data, a backfill of a day never delivered) fails with the span, its date and the path
searched, and leaves nothing half-recorded in ML Metadata; TFX's own message names neither
("Cannot find matching for split ...") and leaves its execution RUNNING. The files found are
then checked as CSV (``csv_check``). A span not there is ``SpanNotArrived``, which the task
retries (late data may land by then); a marker or hidden file the pattern matches
(``_SUCCESS``, Spark's ``.crc`` files), which ExampleGen would read as data, is bad input.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tfx_dags.common.errors import TfxDagsError
from tfx_dags.common.spans import span_number_to_date
from tfx_dags.runner.csv_check import InputDataError


class SpanNotArrived(TfxDagsError):
    """The span's files are not there (yet): retryable, unlike bad data (InputDataError),
    since late data may land before the task's next try."""


@dataclass(frozen=True)
class ExampleGenInput:
    """One CsvExampleGen run's input: its span (0 without a span spec) and the files of
    each split, as ExampleGen will glob them."""

    input_base: str
    span: int
    has_span_spec: bool
    files: tuple[Path, ...]

    def describe(self) -> str:
        if not self.has_span_spec:
            return f"input folder {self.input_base}"
        return f"span {self.span} of {self.input_base}"


def example_gen_input(pipeline_node: Any) -> ExampleGenInput | None:
    """The input of a file-based ExampleGen node whose exec properties are bound (this
    run's RuntimeParameters substituted); None for remote storage (left to ExampleGen)."""
    from google.protobuf import json_format
    from tfx.components.example_gen import utils
    from tfx.dsl.io import fileio
    from tfx.proto import example_gen_pb2, range_config_pb2

    parameters = pipeline_node.parameters.parameters
    input_base = parameters["input_base"].field_value.string_value
    if "://" in input_base:
        return None
    if not Path(input_base).is_dir():
        raise InputDataError(f"input folder {input_base} does not exist")
    input_config = example_gen_pb2.Input()
    json_format.Parse(_string(parameters, "input_config") or "{}", input_config)
    splits = list(input_config.splits) or list(utils.make_default_input_config().splits)
    range_text = _string(parameters, "range_config")
    range_config = None
    if range_text:
        range_config = json_format.Parse(range_text, range_config_pb2.RangeConfig())
    # (span spec, date spec, version spec) of each split's pattern.
    specs = [utils.verify_split_pattern_specs(split) for split in splits]
    has_date_spec = any(date for _, date, _ in specs)
    has_span_spec = has_date_spec or any(span for span, _, _ in specs)
    patterns = [split.pattern for split in splits]
    try:
        # Fills each split's pattern with the span and version it selects.
        _, span, _ = utils.calculate_splits_fingerprint_span_and_version(
            input_base, splits, range_config
        )
    except ValueError as error:
        message = _no_span(input_base, patterns, range_config, has_date_spec, error)
        raise SpanNotArrived(message) from None
    # TFX's own glob, as ExampleGen's: it matches hidden files too, which Python's skips.
    files = sorted(
        Path(path)
        for split in splits
        for path in fileio.glob(os.path.join(input_base, split.pattern))
        if Path(path).is_file()
    )
    markers = [path for path in files if path.name.startswith(("_", "."))]
    if markers:
        # ExampleGen would read a _SUCCESS marker (written by Spark, Beam, gsutil...) as data.
        raise InputDataError(
            f"{', '.join(map(str, markers[:3]))}: a marker or hidden file, not data, matches "
            f"{', '.join(patterns)}; give the pattern the data files' extension (e.g. "
            "'{YYYY}-{MM}-{DD}/*.csv')"
        )
    found = ExampleGenInput(input_base, span, has_span_spec, tuple(files))
    if not files:
        what = found.describe()
        if has_span_spec:
            raise SpanNotArrived(f"{what}: no files match {', '.join(patterns)}")
        raise InputDataError(f"{what} holds no files")
    return found


def _no_span(
    input_base: str, patterns: list[str], range_config: Any, dated: bool, error: Exception
) -> str:
    where = ", ".join(os.path.join(input_base, pattern) for pattern in patterns)
    if range_config is not None and range_config.HasField("static_range"):
        span = range_config.static_range.start_span_number
        what = f"span {span}"
        if dated:
            what += f" ({span_number_to_date(span).isoformat()})"
        return (
            f"no input for {what} under {where}: its files have not arrived, or the pattern "
            f"does not match them (ExampleGen: {error})"
        )
    return f"no input under {where} in the range this run asks for (ExampleGen: {error})"


def _string(parameters: Any, name: str) -> str:
    if name not in parameters:
        return ""
    return str(parameters[name].field_value.string_value)
