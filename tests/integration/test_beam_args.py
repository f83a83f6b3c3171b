"""Beam pipeline args reach the component's launch: the default, the DAG's, per component.

Runs the real CsvExampleGen node (Beam-backed) through the node runner, as a task would,
against a fresh ML Metadata store, and reads what the launch logged.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from tests.support.penguin_nodes import compile_penguin, run_node
from tfx_dags.authoring import beam_args
from tfx_dags.common import settings


def test_by_default_a_node_on_small_input_runs_beam_in_memory_and_says_why(
    tmp_path: Path, monkeypatch: Any
) -> None:
    # The suite sets a mode for every node (conftest); this test checks the product default.
    monkeypatch.delenv("TFX_DAGS_BEAM_DIRECT_MODE")
    log = run_node(tmp_path, compile_penguin(tmp_path, "beam_default"), "CsvExampleGen")
    data = settings.PROJECT_ROOT / "data" / "penguin"
    assert f"DirectRunner mode in_memory: 342 input rows (input_base {data}) < 100000" in log
    args = ["--runner=DirectRunner", "--direct_running_mode=in_memory"]
    assert f"Beam args of CsvExampleGen: {args}" in log
    assert "Worker: severity" not in log  # no SDK worker processes
    # TFX would build an sdist of itself for the DirectRunner's (non-existent) remote workers.
    assert "CsvExampleGen: TFX's own sdist not staged" in log
    assert "Attempting to infer TFX Python dependency" not in log


def test_from_the_threshold_on_a_node_runs_a_worker_per_core(
    tmp_path: Path, monkeypatch: Any
) -> None:
    monkeypatch.delenv("TFX_DAGS_BEAM_DIRECT_MODE")
    monkeypatch.setenv("TFX_DAGS_BEAM_MULTI_PROCESSING_ROWS", "300")
    ir_path = compile_penguin(tmp_path, "beam_default")
    log = run_node(tmp_path, ir_path, "CsvExampleGen")
    data = settings.PROJECT_ROOT / "data" / "penguin"
    assert f"DirectRunner mode multi_processing: input rows (input_base {data}) reach 300" in log
    expected = beam_args.direct_args()
    assert expected[1:] == ["--direct_running_mode=multi_processing", "--direct_num_workers=0"]
    assert f"Beam args of CsvExampleGen: {expected}" in log
    # Multi-processing Beam runs its work in SDK worker processes, whose lines it relays.
    assert "Worker: severity" in log
    # StatisticsGen reads CsvExampleGen's Examples, as ML Metadata resolved them.
    log = run_node(tmp_path, ir_path, "StatisticsGen")
    assert "DirectRunner mode multi_processing: input rows (input Examples) reach 300" in log


def test_the_deployments_or_the_dags_beam_args_come_after_the_pipelines(
    tmp_path: Path, monkeypatch: Any
) -> None:
    monkeypatch.setenv("TFX_DAGS_BEAM_ARGS", json.dumps(["--direct_running_mode=multi_threading"]))
    log = run_node(tmp_path, compile_penguin(tmp_path, "beam_dag_args"), "CsvExampleGen")
    pipeline = beam_args.direct_args(running_mode="in_memory")  # the suite's (conftest)
    added = "--direct_running_mode=multi_threading"
    assert f"Beam args of CsvExampleGen: {[*pipeline, added]}" in log
    assert "DirectRunner mode multi_threading: set by the pipeline or the DAG" in log


def test_a_served_node_forks_its_beam_sdk_workers_from_the_node_server(
    tmp_path: Path, monkeypatch: Any
) -> None:
    monkeypatch.delenv("TFX_DAGS_BEAM_DIRECT_MODE")
    monkeypatch.setenv("TFX_DAGS_BEAM_MULTI_PROCESSING_ROWS", "1")
    ir_path = compile_penguin(tmp_path, "beam_served")
    log = run_node(tmp_path, ir_path, "CsvExampleGen", served=True)
    assert "Beam SDK workers, if any, are forked from the node server." in log
    workers = re.findall(r"tfx_dags: Beam SDK worker (\d+) forked by the node server", log)
    assert len(set(workers)) == os.cpu_count()  # --direct_num_workers=0: one per core
    assert "Worker: severity" in log  # and they did the work
    assert "tfx_dags: node CsvExampleGen finished" in log


def test_component_args_are_appended_to_the_pipelines_for_that_component_only(
    tmp_path: Path,
) -> None:
    flink = beam_args.flink_args(flink_master="flink.invalid:8081", parallelism=4)
    local = beam_args.direct_args(running_mode="in_memory")
    ir_path = compile_penguin(
        tmp_path,
        "beam_per_component",
        beam_pipeline_args=flink,
        component_beam_args={"CsvExampleGen": local},
    )
    # CsvExampleGen launches with Flink's args, then its own: the later --runner wins, so it
    # runs here on the DirectRunner although no Flink cluster exists.
    log = run_node(tmp_path, ir_path, "CsvExampleGen")
    assert f"Beam args of CsvExampleGen: {flink + local}" in log
    specs = json.loads((ir_path.parent / "pipeline_ir.json").read_text())["deploymentConfig"]
    for node_id in ("StatisticsGen", "Evaluator"):
        assert specs["executorSpecs"][node_id]["beamPipelineArgs"] == flink, node_id
