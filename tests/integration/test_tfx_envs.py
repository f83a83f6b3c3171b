"""A DAG's TFX environment, by name: what it has installed keys the compile cache, and the
DAG's tasks run their nodes with its interpreter (tfx_dags.common.tfx_envs)."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import textwrap
from pathlib import Path

import pytest
from airflow.dag_processing.dagbag import DagBag

from tfx_dags import pipeline_dag
from tfx_dags.airflow.compile_cache import ensure_compiled
from tfx_dags.common import settings, tfx_envs
from tfx_dags.common.errors import PipelineCompileError
from tfx_dags.common.pipeline_ref import parse_pipeline_ref

# No DAG run: part of `make test-fast`.
pytestmark = pytest.mark.quick

PENGUIN = parse_pipeline_ref("modules.penguin.pipeline:create_pipeline")


@pytest.fixture
def two_names(tfx_python: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Two environment names for the one TFX environment this machine has, through two of
    its interpreter's names (a virtualenv has bin/python and bin/python3)."""
    envs = {"line_a": str(tfx_python), "line_b": str(tfx_python.with_name("python3"))}
    monkeypatch.setenv("TFX_DAGS_TFX_ENVS", json.dumps(envs))
    monkeypatch.setenv("TFX_DAGS_HOME", str(tmp_path / "home"))
    return envs


def test_what_the_environment_has_installed_is_read_from_it(tfx_python: Path) -> None:
    installed = tfx_envs.installed(tfx_envs.TfxEnv("tfx115", tfx_python))
    assert installed["tfx"] == "1.15.1" and installed["tensorflow"] == "2.15.1"
    assert installed["apache-beam"] == "2.56.0" and installed["ml-metadata"] == "1.15.0"
    records = list((settings.compiled_dir() / ".environments").glob("*.json"))
    assert records, "the site-packages folders were not kept for the next parse"


def test_each_environment_compiles_its_own_entry_and_runs_the_dags_nodes(
    two_names: dict[str, str], tmp_path: Path
) -> None:
    kwargs = {
        "pipeline_name": "penguin_envs",
        "pipeline_root": str(tmp_path / "root"),
        "data_root": str(settings.PROJECT_ROOT / "data" / "penguin"),
        "serving_model_dir": str(tmp_path / "serving"),
        "trainer_module": "modules.penguin.keras_raw",
        "use_transform": False,
    }
    entries = {
        name: ensure_compiled(cache_name="penguin_envs", ref=PENGUIN, kwargs=kwargs, tfx_env=name)
        for name in two_names
    }
    assert entries["line_a"].directory != entries["line_b"].directory
    assert entries["line_a"].graph == entries["line_b"].graph
    dag = pipeline_dag(
        dag_id="penguin_envs",
        pipeline=str(PENGUIN),
        pipeline_kwargs={key: kwargs[key] for key in list(kwargs)[2:]},
        owner="ml-platform",
        tfx_env="line_b",
    )
    trainer = dag.get_task("Trainer")
    assert trainer.tfx_env == "line_b"  # type: ignore[attr-defined]
    command = trainer.node_command("manual__1")  # type: ignore[attr-defined]
    assert command[0] == two_names["line_b"]


@pytest.mark.parametrize("line", ["tfx115", "tfx116"])
def test_a_store_of_another_schema_is_refused_and_left_as_it_was(line: str, tmp_path: Path) -> None:
    # Every line of the deployment opens one store (ML Metadata 1.15 and 1.16: schema 10); a
    # store another ML Metadata upgraded must fail clearly, and nothing may migrate it back.
    env = tfx_envs.resolve(line)
    store = tmp_path / "metadata.sqlite"
    run_env = env.environ({**os.environ, "TFX_DAGS_METADATA_SQLITE": str(store)})
    run_env.pop("TFX_DAGS_METADATA_URI", None)
    init = [str(env.python), "-m", "tfx_dags.mlmd.connection", "init"]
    subprocess.run(init, env=run_env, check=True, capture_output=True, timeout=120)
    with sqlite3.connect(store) as db:
        db.execute("UPDATE MLMDEnv SET schema_version = 11")
    for command in (
        init,
        [str(env.python), "-m", "tfx_dags.queries.query", "runs", "--pipeline", "p"],
    ):
        done = subprocess.run(command, env=run_env, capture_output=True, text=True, timeout=120)
        assert done.returncode != 0
        assert f"ML Metadata store SQLite {store} has schema version 11" in done.stderr
        assert "reads and writes version 10: a newer ML Metadata upgraded it" in done.stderr
    with sqlite3.connect(store) as db:
        assert db.execute("SELECT schema_version FROM MLMDEnv").fetchall() == [(11,)]


def test_an_estimator_on_tfx_1_16_is_an_import_error_naming_the_fix(tmp_path: Path) -> None:
    # TFX 1.16 removed the Estimator executor: this project's trainer_fn module, and TFX
    # 1.15's own taxi example (which imports the executor itself), on a 1.16 environment.
    taxi = settings.PROJECT_ROOT / "tests" / "tfx_examples" / "chicago_taxi_pipeline"
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "estimators_on_116.py").write_text(
        textwrap.dedent(
            f"""
            # An Airflow DAG (Airflow's safe mode parses only files that name both words).
            from tfx_dags import pipeline_dag

            penguin = pipeline_dag(
                dag_id="penguin_estimator_116",
                pipeline="modules.penguin.pipeline:create_pipeline",
                pipeline_kwargs={{
                    "data_root": "{settings.PROJECT_ROOT / "data" / "penguin"}",
                    "serving_model_dir": "{tmp_path / "serving"}",
                    "trainer_module": "modules.penguin.estimator",
                }},
                tfx_env="tfx116",
                owner="ml-platform",
            )
            """
        )
    )
    (dags / "taxi_on_116.py").write_text(
        '"""Airflow DAG: TFX 1.15\'s AirflowDagRunner file on TFX 1.16."""\n'
        "from tfx_dags import runner_file_dag\n"
        f'taxi = runner_file_dag("{taxi}/taxi_pipeline_simple.py", tfx_env="tfx116")\n'
    )
    errors = DagBag(dag_folder=str(dags)).import_errors
    assert sorted(Path(path).name for path in errors) == ["estimators_on_116.py", "taxi_on_116.py"]
    for error in errors.values():
        assert (
            "this environment has TFX 1.16.0: TFX 1.16 removed the Estimator Trainer executor"
            in error
        ), error
        assert "give this DAG tfx_env= of a TFX 1.15 environment" in error, error
    [penguin] = [error for path, error in errors.items() if path.endswith("estimators_on_116.py")]
    assert "trainer module modules.penguin.estimator defines trainer_fn (an Estimator)" in penguin


def test_a_compile_that_hangs_fails_the_parse_with_its_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The pipeline file never returns; the compile is killed at TFX_DAGS_COMPILE_TIMEOUT,
    # served by the node server or not, and the DAG's import error says why.
    (tmp_path / "hanging_pipeline.py").write_text(
        "import signal, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)  # deaf to the polite stop, too\n"
        "def create_pipeline(pipeline_name, pipeline_root):\n"
        "    time.sleep(600)\n"
    )
    monkeypatch.setenv("TFX_DAGS_COMPILE_TIMEOUT", "5")
    ref = parse_pipeline_ref(f"{tmp_path / 'hanging_pipeline.py'}:create_pipeline")
    for server in ("on", "off"):
        monkeypatch.setenv("TFX_DAGS_NODE_SERVER", server)
        with pytest.raises(PipelineCompileError, match=r"took longer than 5 s \(TFX_DAGS_COMPILE"):
            ensure_compiled(
                cache_name=f"hanging_{server}",
                ref=ref,
                kwargs={"pipeline_name": "hanging", "pipeline_root": str(tmp_path / "root")},
            )
