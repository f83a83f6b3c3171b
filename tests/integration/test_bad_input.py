"""Bad CSV input fails CsvExampleGen's task at once, naming the file and the problem, with no
retry (the same data fails the same way)."""

from __future__ import annotations

from pathlib import Path

import pytest
from airflow.sdk.exceptions import AirflowFailException

from tfx_dags.airflow.compile_cache import ensure_compiled
from tfx_dags.airflow.operators import TfxNodeOperator
from tfx_dags.common.pipeline_ref import parse_pipeline_ref

# No DAG run: part of `make test-fast`.
pytestmark = pytest.mark.quick

PENGUIN_CSV = Path(__file__).resolve().parents[2] / "data" / "penguin" / "penguins.csv"


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (None, r"input folder .*/input does not exist"),
        ("45.2,15.8,215.0,heavy,2\n", r"penguins\.csv, line 344, column 'body_mass_g': 'heavy'"),
        ("45.2,15.8,215.0\n", r"penguins\.csv, line 344: 3 fields, the header has 5"),
    ],
    ids=["missing-folder", "wrong-type", "short-row"],
)
def test_bad_csv_fails_the_example_gen_task_without_retry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rows: str | None, message: str
) -> None:
    monkeypatch.setenv("TFX_DAGS_HOME", str(tmp_path))
    data = tmp_path / "input"
    if rows is not None:
        data.mkdir()
        (data / "penguins.csv").write_text(PENGUIN_CSV.read_text() + rows)
    compiled = ensure_compiled(
        cache_name="bad_input",
        ref=parse_pipeline_ref("modules.penguin.pipeline:create_pipeline"),
        kwargs={
            "pipeline_name": "bad_input",
            "pipeline_root": str(tmp_path / "pipelines" / "bad_input"),
            "data_root": str(data),
            "serving_model_dir": str(tmp_path / "serving"),
        },
    )
    operator = TfxNodeOperator(
        task_id="CsvExampleGen", pipeline_ir=str(compiled.ir_path), node_id="CsvExampleGen"
    )
    with pytest.raises(AirflowFailException, match=message):
        operator.execute({"run_id": "manual__bad_input"})
    assert not (tmp_path / "pipelines" / "bad_input" / "CsvExampleGen").exists()
