"""DAG integrity: every file in dags/ loads, is configured, and stays light at parse time."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

import pytest
from airflow.dag_processing.dagbag import DagBag

from tfx_dags.airflow import pools
from tfx_dags.airflow.dag_config import PipelineDagConfig
from tfx_dags.common import settings

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DAGS_FOLDER = PROJECT_ROOT / "dags"
DAG_FILES = sorted(DAGS_FOLDER.glob("*.py"))
HEAVY_MODULES = ("tensorflow", "tfx", "apache_beam", "tensorflow_model_analysis")
DEFAULT_OWNER = PipelineDagConfig.__dataclass_fields__["owner"].default


@pytest.fixture(scope="module")
def dag_bag() -> DagBag:
    return DagBag(dag_folder=str(DAGS_FOLDER))


def test_there_are_dag_files() -> None:
    assert DAG_FILES, f"no DAG files in {DAGS_FOLDER}"


def test_no_import_errors(dag_bag: DagBag) -> None:
    assert dag_bag.import_errors == {}


@pytest.mark.parametrize("dag_file", DAG_FILES, ids=lambda path: path.name)
def test_each_dag_has_owner_tags_and_retries(dag_bag: DagBag, dag_file: Path) -> None:
    dags = [dag for dag in dag_bag.dags.values() if Path(dag.fileloc) == dag_file]
    assert dags, f"{dag_file.name} defines no DAG"
    for dag in dags:
        assert dag.tags, f"{dag.dag_id} has no tags"
        assert dag.default_args["owner"] not in ("", DEFAULT_OWNER), f"{dag.dag_id}: set an owner"
        for task in dag.tasks:
            assert task.retries >= 1, f"{dag.dag_id}.{task.task_id} has no retries"


@pytest.mark.parametrize("dag_file", DAG_FILES, ids=lambda path: path.name)
def test_parsing_imports_no_tensorflow_tfx_or_beam(dag_file: Path) -> None:
    probe = textwrap.dedent(
        f"""
        import json, runpy, sys
        runpy.run_path({str(dag_file)!r})
        print(json.dumps(sorted(m for m in {HEAVY_MODULES!r} if m in sys.modules)))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert json.loads(result.stdout.splitlines()[-1]) == []


def test_the_penguin_dag_has_one_task_per_node_and_the_pipeline_edges(dag_bag: DagBag) -> None:
    dag = dag_bag.dags["penguin_keras"]
    upstream = {task.task_id: set(task.upstream_task_ids) for task in dag.tasks}
    assert upstream == {
        "CsvExampleGen": set(),
        "latest_blessed_model_resolver": set(),
        "StatisticsGen": {"CsvExampleGen"},
        "SchemaGen": {"StatisticsGen"},
        "ExampleValidator": {"StatisticsGen", "SchemaGen"},
        # ExampleValidator gates training: nothing trains on data with anomalies.
        "Transform": {"CsvExampleGen", "SchemaGen", "ExampleValidator"},
        "Trainer": {"Transform", "SchemaGen", "ExampleValidator"},
        "Evaluator": {"CsvExampleGen", "Trainer", "latest_blessed_model_resolver"},
        "Pusher": {"Trainer", "Evaluator"},
    }
    assert dag.catchup is False and dag.max_active_runs == 1


GOOD_DAG = """
# Airflow DAG built by the tfx_dags factory.
from tfx_dags.airflow.factory import pipeline_dag

dag = pipeline_dag(
    dag_id="good_penguin",
    pipeline="modules.penguin.pipeline:create_pipeline",
    pipeline_kwargs={{"data_root": {data!r}, "serving_model_dir": "/tmp/unused"}},
    owner="ml-platform",
    tags=("tfx",),
)
"""


def good_dag(extra: str = "", *, header: str = "") -> str:
    """GOOD_DAG with more factory arguments after its tags."""
    text = GOOD_DAG.format(data=str(PROJECT_ROOT / "data" / "penguin"))
    return header + text.replace('tags=("tfx",),', 'tags=("tfx",),' + extra)


BROKEN_DAG = """
# Airflow DAG built by the tfx_dags factory.
from tfx_dags.airflow.factory import pipeline_dag

dag = pipeline_dag(dag_id={dag_id!r}, pipeline={pipeline!r}, owner="ml-platform", tags=("tfx",))
"""


@pytest.mark.parametrize(
    ("pipeline_source", "function", "expected"),
    [
        ("def make(**kwargs):\n    return (\n", "make", r"SyntaxError in .*broken_pipeline\.py"),
        (
            "def other(**kwargs):\n    pass\n",
            "make",
            r"broken_pipeline\.py defines no function 'make'",
        ),
        ("def make(**kwargs):\n    return 42\n", "make", "returned int, not a tfx.dsl.Pipeline"),
        (
            "def make(**kwargs):\n    raise ValueError('no data_root given')\n",
            "make",
            r"ValueError: no data_root given \(at .*broken_pipeline\.py:2\)",
        ),
    ],
    ids=["syntax-error", "missing-function", "not-a-pipeline", "raises"],
)
def test_a_broken_pipeline_is_an_import_error_of_its_dag_only(
    tmp_path: Path, pipeline_source: str, function: str, expected: str
) -> None:
    pipeline_file = tmp_path / "pipelines" / "broken_pipeline.py"
    pipeline_file.parent.mkdir()
    pipeline_file.write_text(pipeline_source)
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "good.py").write_text(GOOD_DAG.format(data=str(PROJECT_ROOT / "data" / "penguin")))
    (dags / "broken.py").write_text(
        BROKEN_DAG.format(dag_id="broken_penguin", pipeline=f"{pipeline_file}:{function}")
    )
    bag = DagBag(dag_folder=str(dags))
    assert set(bag.dag_ids) == {"good_penguin"}
    assert list(bag.import_errors) == [str(dags / "broken.py")]
    message = bag.import_errors[str(dags / "broken.py")]
    assert f"cannot compile pipeline {pipeline_file}:{function}" in message
    assert re.search(expected, message), message


def test_a_bad_setting_in_a_dag_file_is_an_import_error_naming_it(tmp_path: Path) -> None:
    (tmp_path / "bad.py").write_text(
        "# Airflow DAG\nfrom tfx_dags.airflow.factory import pipeline_dag\n"
        "dag = pipeline_dag(dag_id='x', pipeline='modules.penguin.pipeline:create_pipeline', "
        "retries=-2)\n"
    )
    bag = DagBag(dag_folder=str(tmp_path))
    assert "retries=-2 must be an integer >= 0" in bag.import_errors[str(tmp_path / "bad.py")]


def test_every_pool_a_task_names_is_provisioned(dag_bag: DagBag) -> None:
    assert pools.unprovisioned_pools(dag_bag.dags.values()) == []


def test_trainers_go_to_the_gpu_pool_and_queue_beam_nodes_to_the_beam_queue(
    dag_bag: DagBag,
) -> None:
    beam_nodes = {"CsvExampleGen", "StatisticsGen", "Transform", "Evaluator"}
    for dag in dag_bag.dags.values():
        for task in dag.tasks:
            if task.task_id == "Trainer":
                expected = (settings.gpu_pool(), settings.gpu_queue())
            elif task.task_id in beam_nodes:
                expected = ("default_pool", settings.beam_queue())
            else:
                expected = ("default_pool", settings.default_queue())
            assert (task.pool, task.queue) == expected, f"{dag.dag_id}.{task.task_id}"


def test_a_dag_naming_an_unprovisioned_pool_fails_the_pool_check(tmp_path: Path) -> None:
    (tmp_path / "gpu_a100.py").write_text(
        good_dag('task_overrides={"Trainer": {"pool": "gpu_a100"}},')
    )
    bag = DagBag(dag_folder=str(tmp_path))
    assert bag.import_errors == {}
    problems = pools.unprovisioned_pools(bag.dags.values())
    assert len(problems) == 1 and problems[0].startswith(
        "good_penguin.Trainer uses pool 'gpu_a100', which"
    )
    check = subprocess.run(
        [sys.executable, "-m", "tfx_dags.airflow.pools", "check"],
        env={**os.environ, "AIRFLOW__CORE__DAGS_FOLDER": str(tmp_path)},
        capture_output=True,
        text=True,
    )
    assert check.returncode == 1 and "uses pool 'gpu_a100'" in check.stderr


OVERRIDES = """
    task_overrides={
        "Trainer": {
            "queue": "gpu_a100", "retries": 3, "retry_delay": timedelta(minutes=5),
            "execution_timeout": timedelta(hours=2), "priority_weight": 7,
            "env": {"CUDA_VISIBLE_DEVICES": "1"},
        },
        "Transform": {"queue": "beam_big", "execution_timeout": timedelta(minutes=30)},
    },"""


def test_task_overrides_from_the_dag_file_reach_the_tasks(tmp_path: Path) -> None:
    (tmp_path / "overrides.py").write_text(
        good_dag(OVERRIDES, header="from datetime import timedelta\n")
    )
    bag = DagBag(dag_folder=str(tmp_path))
    assert bag.import_errors == {}
    dag = bag.dags["good_penguin"]
    trainer, transform = dag.get_task("Trainer"), dag.get_task("Transform")
    assert (trainer.pool, trainer.queue, trainer.retries, trainer.priority_weight) == (
        settings.gpu_pool(),
        "gpu_a100",
        3,
        7,
    )
    assert trainer.retry_delay == timedelta(minutes=5)
    assert trainer.execution_timeout == timedelta(hours=2)
    assert trainer.node_env == {"TF_FORCE_GPU_ALLOW_GROWTH": "true", "CUDA_VISIBLE_DEVICES": "1"}
    assert (transform.queue, transform.execution_timeout) == ("beam_big", timedelta(minutes=30))
    assert dag.get_task("Evaluator").queue == settings.beam_queue()


def test_an_override_of_an_unknown_node_is_an_import_error_listing_the_nodes(
    tmp_path: Path,
) -> None:
    (tmp_path / "typo.py").write_text(good_dag('task_overrides={"Traner": {}},'))
    bag = DagBag(dag_folder=str(tmp_path))
    message = bag.import_errors[str(tmp_path / "typo.py")]
    assert "task_overrides names ['Traner'], not nodes of this pipeline" in message
    assert "'Trainer'" in message


def test_run_parameters_are_typed_bounded_params_of_the_penguin_dags(dag_bag: DagBag) -> None:
    for dag_id in ("penguin_keras", "penguin_estimator"):
        params = dag_bag.dags[dag_id].params
        schemas = {name: params.get_param(name).schema for name in params}
        assert schemas["train_steps"] == {
            "type": "integer",
            "title": "train_steps",
            "minimum": 1,
            "maximum": 100_000,
        }
        assert params.get_param("train_steps").description == "Trainer steps"
        assert schemas["min_accuracy"]["type"] == "number"
        assert schemas["data_root"]["pattern"].startswith("^")
        assert params.dump() == {"train_steps": 200, "min_accuracy": 0.9, "data_root": "penguin"}


def test_pushers_emit_the_pushed_model_through_an_alias_and_penguin_runs_on_new_data(
    dag_bag: DagBag,
) -> None:
    for dag in dag_bag.dags.values():
        outlets = dag.get_task("Pusher").outlets
        assert [type(o).__name__ for o in outlets] == ["AssetAlias"], dag.dag_id
        assert outlets[0].name == f"{dag.dag_id}.pushed_model"
    penguin = dag_bag.dags["penguin_keras"]
    assert f"file://{PROJECT_ROOT / 'data' / 'penguin'}" in str(penguin.timetable)


def test_only_trainer_tasks_get_gpu_memory_growth(dag_bag: DagBag) -> None:
    for dag in dag_bag.dags.values():
        for task in dag.tasks:
            expected = {"TF_FORCE_GPU_ALLOW_GROWTH": "true"} if task.task_id == "Trainer" else {}
            assert task.node_env == expected, f"{dag.dag_id}.{task.task_id}"


TRAINER_PIPELINE = """
from tfx_dags.authoring.pipelines import training_pipeline


def make(**kwargs):
    return training_pipeline(
        trainer_module={module!r},
        label_key="species",
        data_root="/nowhere",
        serving_model_dir="/nowhere",
        **kwargs,
    )
"""


@pytest.mark.parametrize(
    ("trainer_source", "expected"),
    [
        (
            "def train(fn_args):\n    pass\n",
            r"trainer module .*usertrainer\.py defines no run_fn \(native Keras, "
            r"GenericExecutor\) or trainer_fn \(Estimator executor\)",
        ),
        ("def run_fn(fn_args):\n    return (\n", r"usertrainer\.py has a syntax error, line 2"),
    ],
    ids=["neither-function", "syntax-error"],
)
def test_a_bad_trainer_module_is_an_import_error_naming_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, trainer_source: str, expected: str
) -> None:
    package = tmp_path / "code" / "userpipes"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "usertrainer.py").write_text(trainer_source)
    (package / "pipe.py").write_text(TRAINER_PIPELINE.format(module="userpipes.usertrainer"))
    # The compile subprocess imports the user's package from here.
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "code"))
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "user.py").write_text(
        BROKEN_DAG.format(dag_id="user_pipeline", pipeline=f"{package / 'pipe.py'}:make")
    )
    bag = DagBag(dag_folder=str(dags))
    message = bag.import_errors[str(dags / "user.py")]
    assert re.search(expected, message), message


PLUGIN_FILES = sorted((PROJECT_ROOT / "plugins").glob("*.py"))


@pytest.mark.parametrize("plugin_file", PLUGIN_FILES, ids=lambda path: path.name)
def test_plugins_load_without_tensorflow_tfx_or_beam(plugin_file: Path) -> None:
    # The api-server, scheduler and workers all load plugins/: it must stay as light as a DAG.
    probe = textwrap.dedent(
        f"""
        import json, runpy, sys
        from airflow.plugins_manager import AirflowPlugin
        namespace = runpy.run_path({str(plugin_file)!r})
        plugins = [v.name for v in namespace.values() if isinstance(v, type)
                   and issubclass(v, AirflowPlugin) and v is not AirflowPlugin]
        print(json.dumps([plugins, sorted(m for m in {HEAVY_MODULES!r} if m in sys.modules)]))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    plugins, heavy = json.loads(result.stdout.splitlines()[-1])
    assert plugins and heavy == []
