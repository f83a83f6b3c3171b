"""The CSV input check names the file, the line and the problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from tfx_dags.runner.csv_check import InputDataError, check_csv_files

HEADER = "bill_length_mm,bill_depth_mm,species\n"
GOOD_ROWS = "39.1,18.7,0\n39.5,17.4,0\n40.3,18.0,1\n" * 10


def folder(tmp_path: Path, **files: str) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    for name, text in files.items():
        (data / name).write_text(text)
    return data


def check_csv_folder(data: str) -> int:
    """The check of a folder's files, as a CsvExampleGen of the default pattern reads them."""
    files = sorted(path for path in Path(data).iterdir() if path.is_file())
    return check_csv_files(f"input folder {data}", files)


def test_good_data_passes_and_counts_rows(tmp_path: Path) -> None:
    data = folder(tmp_path, a=HEADER + GOOD_ROWS, b=HEADER + "41.0,,2\n")
    assert check_csv_folder(str(data)) == 31


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"a": ""}, r"/data/a: empty file \(no header\)"),
        ({"a": HEADER}, r"input folder .*/data has a header but no rows"),
        (
            {"a": HEADER + GOOD_ROWS + "39.1,18.7\n"},
            r"/data/a, line 32: 2 fields, the header has 3",
        ),
        (
            {"a": HEADER + GOOD_ROWS + "39.1,deep,0\n"},
            r"/data/a, line 32, column 'bill_depth_mm': 'deep' is not a number, while 30 of",
        ),
        (
            {"a": HEADER + GOOD_ROWS, "b": "bill_length_mm,species\n39.1,0\n"},
            r"/data/b: header \['bill_length_mm', 'species'\] differs from",
        ),
    ],
    ids=["empty-file", "no-rows", "short-row", "wrong-type", "other-header"],
)
def test_bad_input_is_refused_naming_file_and_problem(
    tmp_path: Path, files: dict[str, str], message: str
) -> None:
    with pytest.raises(InputDataError, match=message):
        check_csv_folder(str(folder(tmp_path, **files)))


def test_a_text_column_with_a_few_number_like_values_is_text(tmp_path: Path) -> None:
    rows = "".join(f"1.0,2.0,Fleet {n}\n" for n in range(30)) + "1.0,2.0,42\n"
    assert check_csv_folder(str(folder(tmp_path, a="x,y,company\n" + rows))) == 31


def test_the_shipped_data_sets_pass() -> None:
    data = Path(__file__).resolve().parents[3] / "data"
    for name in ("penguin", "taxi", "digits"):
        assert check_csv_folder(str(data / name)) > 300, name


def test_a_file_that_is_not_utf8_is_named(tmp_path: Path) -> None:
    data = folder(tmp_path)
    (data / "latin1.csv").write_bytes(HEADER.encode() + "39.1,18.7,ñ\n".encode("latin-1"))
    with pytest.raises(InputDataError, match=r"latin1\.csv: not UTF-8 text"):
        check_csv_folder(str(data))
