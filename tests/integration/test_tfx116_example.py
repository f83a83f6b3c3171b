"""TFX 1.16's own example pipelines, unchanged, on the tfx116 environment.

``taxi_pipeline_native_keras.py`` is the same file in TFX 1.15.1 and 1.16.0 (one git blob;
vendored in tests/tfx_examples); its module file is TFX 1.16.0's ``taxi_utils_native_keras.py``
(tests/tfx116_examples), laid out under ``$HOME/taxi`` as the example expects. Declared with
``tfx_env="tfx116"``, it runs as a real Airflow 3 DAG run on a slice of the taxi data:
``module_file=`` packaging, the node server, TFT, Keras through tf-keras and TFMA of TFX 1.16,
and the push of a blessed model into the example's own ML Metadata store, which then records
the pipeline's TFX line. TFX 1.16.0's ``AirflowDagRunner`` file (``taxi_pipeline_simple.py``)
becomes a DAG there too, through the runner stand-ins; it is not run: its EvalConfig asks for
a model signature ``eval`` that its own Keras ``taxi_utils.py`` no longer exports (TFX
1.16.0's example, as released, fails at its Evaluator under any runner).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from dev import local_airflow
from tests.support.shared_runs import tree_digest, write_slice
from tfx_dags.airflow import mlmd_query
from tfx_dags.common import tfx_envs

TESTS = Path(__file__).resolve().parents[1]
TAXI_115 = TESTS / "tfx_examples" / "chicago_taxi_pipeline"
TAXI_116 = TESTS / "tfx116_examples" / "chicago_taxi_pipeline"
# What the test is about is the line, not the data's size (the example's: 15000 trips).
TAXI_ROWS = 2000
DAG_ID = "taxi_native_keras_116"
DAG_FILE = """
# Airflow DAGs: TFX 1.16's example pipelines, unchanged, on TFX 1.16.
from tfx_dags import runner_file_dag, pipeline_dag, settings

taxi = pipeline_dag(
    dag_id="{dag_id}",
    pipeline="{native_keras}:_create_pipeline",
    pipeline_kwargs={{
        "data_root": "{data_root}",
        "module_file": "{module_file}",
        "metadata_path": str(settings.metadata_sqlite_path()),
        "serving_model_dir": str(settings.serving_dir("{dag_id}")),
        "beam_pipeline_args": ["--direct_running_mode=in_memory"],
    }},
    tfx_env="tfx116",
    owner="ml-platform",
)
simple = runner_file_dag("{simple}", tfx_env="tfx116", owner="ml-platform")
"""


class Tfx116Runs:
    def __init__(self, home: Path) -> None:
        self.home = home
        self.user = home / "user"  # $HOME, as the examples expect it
        taxi = self.user / "taxi"
        taxi.mkdir(parents=True)
        for name in ("taxi_utils.py", "taxi_utils_native_keras.py"):
            shutil.copy(TAXI_116 / name, taxi)
        write_slice(
            TAXI_115 / "data" / "simple" / "data.csv",
            taxi / "data" / "simple" / "data.csv",
            TAXI_ROWS,
        )
        self.example_digests = (tree_digest(TAXI_115), tree_digest(TAXI_116))
        dags = home / "dags"
        dags.mkdir()
        (dags / "tfx116_examples.py").write_text(
            DAG_FILE.format(
                dag_id=DAG_ID,
                native_keras=TAXI_115 / "taxi_pipeline_native_keras.py",
                data_root=taxi / "data" / "simple",
                module_file=taxi / "taxi_utils_native_keras.py",
                simple=TAXI_116 / "taxi_pipeline_simple.py",
            )
        )
        self.env = {**local_airflow.environment(home, dags_folder=dags), "HOME": str(self.user)}
        local_airflow.init_db(self.env, log=home / "logs" / "db-migrate.log")
        self.tfx116 = tfx_envs.resolve("tfx116")
        self.dags = self.listed_dags()
        log = home / "logs" / f"{DAG_ID}.log"
        self.exit_code = local_airflow.run_dag(self.env, DAG_ID, log=log)
        self.log = log.read_text()
        [self.run] = self.query("runs", "--pipeline", DAG_ID).values()
        self.pushed = self.query("pushed-models", "--pipeline", DAG_ID)
        pipelines = mlmd_query.ask(
            "tfx_dags.queries.view_data",
            "pipelines",
            tfx_env=self.tfx116,
            environ=self.env,
            connection=False,
        )
        self.lines = pipelines["tfx_lines"]

    def listed_dags(self) -> dict[str, Any]:
        """The DAG folder as `tfx-dags list` parses it: each DAG's nodes and environment."""
        command = [str(Path(sys.executable).parent / "tfx-dags"), "list", "-o", "json"]
        done = subprocess.run(command, env=self.env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
        return {row["dag_id"]: row for row in json.loads(done.stdout)}

    def query(self, *args: str) -> Any:
        return json.loads(local_airflow.tfx_query(self.env, *args, tfx_env="tfx116"))


@pytest.fixture(scope="module")
def taxi(tmp_path_factory: pytest.TempPathFactory) -> Tfx116Runs:
    return Tfx116Runs(tmp_path_factory.mktemp("tfx116-examples"))


def test_the_example_runs_unchanged_on_tfx_116_and_pushes_a_blessed_model(taxi: Tfx116Runs) -> None:
    assert taxi.exit_code == 0, taxi.log[-3000:]
    states = {node: details["state"] for node, details in taxi.run.items()}
    assert {state for node, state in states.items() if "resolver" not in node} == {"COMPLETE"}
    blessing = Path(taxi.run["Evaluator"]["outputs"]["blessing"][0]["uri"])
    assert (blessing / "BLESSED").exists()
    [pushed] = taxi.pushed
    assert pushed["model_id"] == taxi.run["Trainer"]["outputs"]["model"][0]["id"]
    assert (Path(pushed["destination"]) / "saved_model.pb").is_file()
    assert (tree_digest(TAXI_115), tree_digest(TAXI_116)) == taxi.example_digests


def test_every_node_ran_in_the_tfx_116_environment(taxi: Tfx116Runs) -> None:
    interpreters = set(
        re.findall(r"Running command: \['([^']+)', '-m', 'tfx_dags\.runner\.node'", taxi.log)
    )
    assert interpreters == {str(taxi.tfx116.python)}
    assert "(forked by the node server)" in taxi.log
    # The file's Beam args for this DAG: in memory, so no SDK worker of its own.
    start = taxi.log.index("--node-id', 'Transform'")
    transform = taxi.log[start : taxi.log.index("node Transform finished", start)]
    assert "--direct_running_mode=in_memory" in transform
    assert "tfx_dags: Beam SDK worker" not in transform
    [model] = taxi.run["Trainer"]["outputs"]["model"]
    assert model["properties"]["tfx_version"] == "1.16.0"
    # The store records the line the pipeline's history belongs to.
    assert taxi.lines == {DAG_ID: "1.16"}


def test_the_module_file_runs_from_a_wheel_under_the_pipeline_root(taxi: Tfx116Runs) -> None:
    root = taxi.home / "pipelines" / DAG_ID
    for node in ("Transform", "Trainer"):
        module, _, wheel = taxi.run[node]["properties"]["module_path"].partition("@")
        assert module == "taxi_utils_native_keras"
        assert Path(wheel).parent == root / "_wheels" and Path(wheel).is_file()
    assert "'-m', 'pip', 'install'" not in taxi.log


def test_tfx_116s_airflow_dag_runner_file_becomes_a_dag_on_tfx_116(taxi: Tfx116Runs) -> None:
    simple = taxi.dags["chicago_taxi_simple"]
    assert simple["tfx_env"] == "tfx116" and simple["nodes"] == 9, simple
    assert taxi.dags[DAG_ID]["tfx_env"] == "tfx116"
