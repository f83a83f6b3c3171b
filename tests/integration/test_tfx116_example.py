"""TFX 1.16's own AirflowDagRunner file, unchanged, on the tfx116 environment.

tests/tfx116_examples holds TFX 1.16.0's ``taxi_pipeline_simple.py`` and its (Keras, since TFX
1.16 removed the Estimator executor) ``taxi_utils.py``, laid out under ``$HOME/taxi`` as the
file expects, on a slice of the taxi data. Declared in one line with ``tfx_env="tfx116"``, it
runs as a real Airflow 3 DAG run: the runner-file stand-ins, ``module_file=`` packaging, the
node server and Beam of TFX 1.16, the atomic push of its model into the file's own ML
Metadata store, which then records the pipeline's TFX line.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from shared_runs import tree_digest, write_slice

from tfx_dags.common import tfx_envs
from tfx_dags.dev import local_airflow

TESTS = Path(__file__).resolve().parents[1]
EXAMPLE = TESTS / "tfx116_examples" / "chicago_taxi_pipeline"
TAXI_DATA = TESTS / "tfx_examples" / "chicago_taxi_pipeline" / "data" / "simple" / "data.csv"
# What the test is about is the line, not the data's size (the example's: 15000 trips).
TAXI_ROWS = 2000
DAG_FILE = """
# An Airflow DAG: TFX 1.16's AirflowDagRunner file, unchanged, on TFX 1.16.
from tfx_dags import airflow_runner_dag

dag = airflow_runner_dag("{file}", tfx_env="tfx116", owner="ml-platform")
"""


class Tfx116Run:
    def __init__(self, home: Path) -> None:
        self.home = home
        self.user = home / "user"  # $HOME, as the example expects it
        taxi = self.user / "taxi"
        taxi.mkdir(parents=True)
        shutil.copy(EXAMPLE / "taxi_utils.py", taxi)
        write_slice(TAXI_DATA, taxi / "data" / "simple" / "data.csv", TAXI_ROWS)
        self.example_digest = tree_digest(EXAMPLE)
        dags = home / "dags"
        dags.mkdir()
        (dags / "taxi_116.py").write_text(DAG_FILE.format(file=EXAMPLE / "taxi_pipeline_simple.py"))
        self.env = {**local_airflow.environment(home, dags_folder=dags), "HOME": str(self.user)}
        local_airflow.init_db(self.env, log=home / "logs" / "db-migrate.log")
        log = home / "logs" / "chicago_taxi_simple.log"
        self.exit_code = local_airflow.run_dag(self.env, "chicago_taxi_simple", log=log)
        self.log = log.read_text()
        self.store = self.user / "tfx" / "metadata" / "chicago_taxi_simple" / "metadata.db"
        self.tfx116 = tfx_envs.resolve("tfx116")
        [self.run] = self.query(
            "tfx_dags.runner.query", "runs", "--pipeline", "chicago_taxi_simple"
        ).values()
        self.pushed = self.query(
            "tfx_dags.runner.query", "pushed-models", "--pipeline", "chicago_taxi_simple"
        )
        self.lines = self.view_data("pipelines")["tfx_lines"]

    def query(self, module: str, *args: str) -> Any:
        env = self.tfx116.environ({**self.env, "TFX_DAGS_METADATA_SQLITE": str(self.store)})
        command = [str(self.tfx116.python), "-m", module, *args]
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr[-2000:]
        return json.loads(done.stdout)

    def view_data(self, *args: str) -> Any:
        answer = self.home / "answer.json"
        env = self.tfx116.environ({**self.env, "TFX_DAGS_METADATA_SQLITE": str(self.store)})
        command = [
            str(self.tfx116.python),
            "-m",
            "tfx_dags.runner.view_data",
            *args,
            "--output",
            str(answer),
        ]
        subprocess.run(command, env=env, capture_output=True, check=True, timeout=120)
        return json.loads(answer.read_text())


@pytest.fixture(scope="module")
def taxi(tmp_path_factory: pytest.TempPathFactory) -> Tfx116Run:
    return Tfx116Run(tmp_path_factory.mktemp("tfx116-example"))


def test_the_example_runs_unchanged_on_tfx_116_and_pushes_a_blessed_model(taxi: Tfx116Run) -> None:
    assert taxi.exit_code == 0, taxi.log[-3000:]
    states = {node: details["state"] for node, details in taxi.run.items()}
    assert {state for node, state in states.items() if "resolver" not in node} == {"COMPLETE"}
    blessing = Path(taxi.run["Evaluator"]["outputs"]["blessing"][0]["uri"])
    assert (blessing / "BLESSED").exists()
    [pushed] = taxi.pushed
    assert pushed["model_id"] == taxi.run["Trainer"]["outputs"]["model"][0]["id"]
    assert (Path(pushed["destination"]) / "saved_model.pb").is_file()
    assert tree_digest(EXAMPLE) == taxi.example_digest  # the vendored files are untouched


def test_every_node_ran_in_the_tfx_116_environment(taxi: Tfx116Run) -> None:
    interpreters = set(
        re.findall(r"Running command: \['([^']+)', '-m', 'tfx_dags\.runner\.node'", taxi.log)
    )
    assert interpreters == {str(taxi.tfx116.python)}
    assert "(forked by the node server)" in taxi.log
    [model] = taxi.run["Trainer"]["outputs"]["model"]
    assert model["properties"]["tfx_version"] == "1.16.0"
    # The file's own store records the line its history belongs to.
    assert taxi.lines == {"chicago_taxi_simple": "1.16"}


def test_the_module_file_runs_from_a_wheel_under_the_pipeline_root(taxi: Tfx116Run) -> None:
    root = taxi.user / "tfx" / "pipelines" / "chicago_taxi_simple"
    for node in ("Transform", "Trainer"):
        module, _, wheel = taxi.run[node]["properties"]["module_path"].partition("@")
        assert module == "taxi_utils"
        assert Path(wheel).parent == root / "_wheels" and Path(wheel).is_file()
    assert "'-m', 'pip', 'install'" not in taxi.log
