"""The node runner reads and writes ML Metadata through one open store: its check for an
earlier success in the run, TFX's launcher (driver, registration, publish) and the result it
hands the operator. Runs the real CsvExampleGen node against a fresh store."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.support.penguin_nodes import compile_penguin
from tfx_dags.common import settings

# No DAG run: part of `make test-fast`.
pytestmark = pytest.mark.quick

COUNT = Path(__file__).resolve().parents[1] / "tfx_env" / "count_store_opens.py"


def run_counted(home: Path, ir_path: Path, run_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    result_file = home / f"{run_id}.json"
    env = {**os.environ, "TFX_DAGS_HOME": str(home)}
    done = subprocess.run(
        [
            str(settings.tfx_python()),
            str(COUNT),
            str(ir_path),
            "CsvExampleGen",
            run_id,
            str(result_file),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    counted = json.loads(done.stdout.strip().splitlines()[-1])
    return counted, json.loads(result_file.read_text())["result"]


def test_a_node_opens_ml_metadata_once_launching_and_reusing(tmp_path: Path) -> None:
    ir_path = compile_penguin(tmp_path, "mlmd_once")
    launched, first = run_counted(tmp_path, ir_path, "manual__first")
    assert launched == {"exit": 0, "stores_opened": 1}
    assert first["reused"] is False
    [examples] = first["outputs"]["examples"]
    assert Path(examples["uri"]).is_dir() and examples["uri"].startswith(str(tmp_path))

    # The same run again (a cleared task): the earlier success is reused, one store again.
    reused, again = run_counted(tmp_path, ir_path, "manual__first")
    assert reused == {"exit": 0, "stores_opened": 1}
    assert again == {**first, "reused": True}
