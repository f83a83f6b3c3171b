"""Check a CsvExampleGen input folder before Beam reads it, naming the file and the problem.

Beam's CSV decoding fails deep inside a worker with a message that names neither the file nor
the line. Reading the files once first (those ExampleGen is about to read:
``example_gen_input``) is cheap beside what follows and turns each problem into one
sentence: files whose headers differ, a row with the wrong
number of fields, a value that is not a number in a column whose other values are.
"""

from __future__ import annotations

import csv
from pathlib import Path

from tfx_dags.common.reply import NonRetryableError

MAX_PROBLEMS = 5
# The share of number values above which a column is numeric, and its text values are errors.
NUMERIC_SHARE = 0.95


class InputDataError(NonRetryableError):
    """The input data cannot be read as the pipeline expects."""


def is_csv_example_gen(node_type: str) -> bool:
    return node_type.rsplit(".", 1)[-1] == "CsvExampleGen"


def check_csv_files(what: str, files: list[Path]) -> int:
    """Raise InputDataError naming every problem (up to MAX_PROBLEMS) of these CSV files,
    ``what`` (e.g. one span of an input pattern) in the messages; return the row count."""
    problems: list[str] = []
    header: list[str] | None = None
    rows = 0
    for path in files:
        file_header, file_rows = _check_file(path, problems)
        rows += file_rows
        if file_header is None:
            continue
        if header is None:
            header = file_header
        elif file_header != header:
            problems.append(f"{path}: header {file_header} differs from {header} ({files[0]})")
    if header is not None and rows == 0:
        problems.append(f"{what} has a header but no rows")
    if problems:
        shown = problems[:MAX_PROBLEMS]
        more = f" (and {len(problems) - MAX_PROBLEMS} more)" if len(problems) > MAX_PROBLEMS else ""
        raise InputDataError("; ".join(shown) + more)
    return rows


def _check_file(path: Path, problems: list[str]) -> tuple[list[str] | None, int]:
    try:
        with path.open(newline="") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if not header:
                problems.append(f"{path}: empty file (no header)")
                return None, 0
            numbers = [0] * len(header)
            texts = [0] * len(header)
            first_text: list[tuple[int, str] | None] = [None] * len(header)
            rows = 0
            for row in reader:
                rows += 1
                if len(row) != len(header):
                    problems.append(
                        f"{path}, line {reader.line_num}: {len(row)} fields, the header has "
                        f"{len(header)}"
                    )
                    continue
                for column, value in enumerate(row):
                    if value == "":
                        continue  # a missing value
                    if _is_number(value):
                        numbers[column] += 1
                    else:
                        texts[column] += 1
                        first_text[column] = first_text[column] or (reader.line_num, value)
    except UnicodeDecodeError as error:
        problems.append(f"{path}: not UTF-8 text ({error.reason} at byte {error.start})")
        return None, 0
    except csv.Error as error:
        problems.append(f"{path}: not valid CSV ({error})")
        return None, 0
    for column, name in enumerate(header):
        # A numeric column with a few text values has the wrong type there; a text column
        # with a few number-like values (codes, say) is just text.
        if texts[column] and numbers[column] >= NUMERIC_SHARE * (numbers[column] + texts[column]):
            line, value = first_text[column]  # type: ignore[misc]
            problems.append(
                f"{path}, line {line}, column {name!r}: {value!r} is not a number, while "
                f"{numbers[column]} of the column's {numbers[column] + texts[column]} values are"
            )
    return header, rows


def _is_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True
