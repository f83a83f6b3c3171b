"""The ``tfx-dags`` command against the real dags/ folder and a broken one: compile ahead of
time (and prune), check, list, show, run; in a fresh SQLite Airflow home, as a user runs it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from dev import local_airflow
from tfx_dags.common import settings

TFX_DAGS = Path(sys.executable).parent / "tfx-dags"
DAGS = settings.PROJECT_ROOT / "dags"
PIPELINES = {
    "digits_tflite", "penguin_estimator", "penguin_keras", "penguin_keras_estimator",
    "penguin_keras_raw", "taxi_estimator", "taxi_keras",
}  # fmt: skip
RUN_DAG = "penguin_keras_raw"


class Home:
    """A fresh Airflow home with its own compile cache; ``tfx-dags`` runs in it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.env = {
            **local_airflow.environment(root),
            "TFX_DAGS_COMPILED_DIR": str(root / "compiled"),
        }
        local_airflow.init_db(self.env, log=root / "logs" / "db-migrate.log")

    def cli(self, *args: str, check: int | None = 0) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [str(TFX_DAGS), *args], env=self.env, capture_output=True, text=True, timeout=900
        )
        if check is not None:
            assert done.returncode == check, f"{args}: {done.stdout[-2000:]}{done.stderr[-3000:]}"
        return done

    def json(self, *args: str, check: int | None = 0) -> Any:
        return json.loads(self.cli(*args, "-o", "json", check=check).stdout)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Home:
    return Home(tmp_path_factory.mktemp("cli"))


def test_compile_warms_the_cache_so_the_dag_processor_never_compiles(home: Home) -> None:
    rows = home.json("compile", str(DAGS))
    assert {row["pipeline"] for row in rows} == PIPELINES
    assert {row["status"] for row in rows} == {"compiled"}
    for row in rows:
        assert Path(row["entry"], "pipeline_ir.pb").is_file()
        assert Path(row["entry"]).parent.parent == home.root / "compiled"
    again = home.json("compile", str(DAGS))
    assert {row["status"] for row in again} == {"cache hit"}
    assert {row["entry"] for row in again} == {row["entry"] for row in rows}


def test_prune_keeps_what_dags_and_active_runs_use(home: Home) -> None:
    home.cli("compile", str(DAGS))
    current = Path(home.json("compile", str(DAGS))[0]["entry"])
    cache = current.parent
    # An entry of an older version of the pipeline, last used a day ago; and one that an
    # active DAG run used after it was queued; and an abandoned compile.
    old = cache / "0123456789abcdef0123"
    shutil.copytree(current, old)
    day_ago = time.time() - 86400
    os.utime(old / "last_used", (day_ago, day_ago))
    in_use = cache / "fedcba9876543210fedc"
    shutil.copytree(current, in_use)
    abandoned = cache / ".compiling-abc123"
    abandoned.mkdir()
    os.utime(abandoned, (day_ago, day_ago))
    home.cli("compile", str(DAGS), "--prune", "--dry-run")
    assert old.is_dir() and abandoned.is_dir()

    # A queued run (no scheduler here, it stays queued) protects what was used since.
    local_airflow.airflow(home.env, "dags", "reserialize")
    local_airflow.airflow(home.env, "dags", "unpause", RUN_DAG)
    local_airflow.airflow(home.env, "dags", "trigger", RUN_DAG)
    (in_use / "last_used").touch()
    done = home.cli("compile", str(DAGS), "--prune")
    assert f"removed {old} (unused)" in done.stderr
    assert f"removed {abandoned} (an abandoned compile)" in done.stderr
    assert not old.exists() and not abandoned.exists()
    assert in_use.is_dir() and current.is_dir()
    # The queued run ends: its entry is unused now.
    end_runs = (
        "from airflow.models.dagrun import DagRun; from airflow.utils.session import "
        "create_session\nwith create_session() as s:\n"
        f"    s.query(DagRun).filter(DagRun.dag_id == {RUN_DAG!r}).update({{'state': 'failed'}})"
    )
    subprocess.run([sys.executable, "-c", end_runs], env=home.env, check=True)
    home.cli("compile", str(DAGS), "--prune")
    assert not in_use.exists() and current.is_dir()


def test_check_passes_the_real_dags_folder(home: Home) -> None:
    done = home.cli("check", str(DAGS))
    assert done.stdout == ""
    assert "no problems" in done.stderr


def write_broken_folder(folder: Path) -> None:
    folder.mkdir()
    (folder / "syntax_error.py").write_text("from airflow.sdk import DAG\ndef broken(:\n")
    (folder / "no_owner.py").write_text(
        textwrap.dedent(
            """
            from airflow.providers.standard.operators.empty import EmptyOperator
            from airflow.sdk import DAG

            with DAG(dag_id="no_owner", schedule=None):
                EmptyOperator(task_id="nothing", pool="nowhere_pool")
            """
        )
    )
    (folder / "wrong_queue.py").write_text(
        textwrap.dedent(
            f"""
            # An Airflow DAG (Airflow parses files that name both "airflow" and "dag").
            from tfx_dags import pipeline_dag

            dag = pipeline_dag(
                dag_id="wrong_queue",
                pipeline="modules.penguin.pipeline:create_pipeline",
                pipeline_kwargs={{
                    "data_root": "{settings.PROJECT_ROOT / "data" / "penguin"}",
                    "serving_model_dir": "/tmp/serving/wrong_queue",
                    "trainer_module": "modules.penguin.keras_raw",
                    "use_transform": False,
                }},
                owner="ml-platform",
                task_overrides={{"Trainer": {{"queue": "gpu_x"}}}},
            )
            """
        )
    )
    (folder / "does_not_compile.py").write_text(
        textwrap.dedent(
            """
            # An Airflow DAG.
            from tfx_dags import pipeline_dag

            dag = pipeline_dag(
                dag_id="does_not_compile",
                pipeline="modules.penguin.pipeline:no_such_function",
                owner="ml-platform",
            )
            """
        )
    )
    # A DAG file that imports TensorFlow at parse time, in a DAG processor that has it
    # installed (a package of that name in the DAG folder stands for the installed one:
    # Airflow puts its DAG folder on the path).
    (folder / "tensorflow").mkdir()
    (folder / "tensorflow" / "__init__.py").write_text("")
    (folder / "heavy.py").write_text(
        textwrap.dedent(
            """
            # An Airflow DAG file.
            import tensorflow  # at parse time: what the check must catch

            from tfx_dags import pipeline_dag
            """
        )
    )


def test_check_names_each_problem_of_a_broken_folder(home: Home, tmp_path: Path) -> None:
    folder = tmp_path / "broken_dags"
    write_broken_folder(folder)
    done = home.cli("check", str(folder), check=1)
    problems = home.json("check", str(folder), check=1)
    lines = done.stdout.splitlines()
    assert len(lines) == len(problems)
    by_reason = {(p["file"].rpartition("/")[2], p["dag_id"]): p["problem"] for p in problems}
    assert "SyntaxError" in by_reason[("syntax_error.py", "")]
    assert "imports tensorflow at parse time" in by_reason[("heavy.py", "")]
    assert by_reason[("does_not_compile.py", "")].startswith("PipelineCompileError: ")
    assert "defines no function 'no_such_function'" in by_reason[("does_not_compile.py", "")]
    no_owner = [p["problem"] for p in problems if p["dag_id"] == "no_owner"]
    assert any("uses pool 'nowhere_pool'" in reason for reason in no_owner)
    assert any(reason.startswith("no owner") for reason in no_owner)
    assert any(reason.startswith("no retries") for reason in no_owner)
    wrong_queue = [p["problem"] for p in problems if p["dag_id"] == "wrong_queue"]
    assert wrong_queue == [
        "task Trainer runs on queue 'gpu_x', which no setting declares (declared: "
        "['default', 'gpu']; TFX_DAGS_EXTRA_QUEUES adds queues)"
    ]
    assert f"{folder}/syntax_error.py: -: " in done.stdout
    # compile and list name the files that do not load, and fail.
    compiled = home.cli("compile", str(folder), check=1)
    assert "does_not_compile.py: PipelineCompileError: " in compiled.stderr
    rows = home.json("compile", str(folder), check=1)
    statuses = {row["pipeline"]: row["status"] for row in rows}
    assert statuses == {"wrong_queue": "cache hit", "does_not_compile": "failed"}
    assert "syntax_error.py: SyntaxError" in home.cli("list", str(folder), check=1).stderr
    # A declared queue is no problem.
    home.env["TFX_DAGS_EXTRA_QUEUES"] = "gpu_x"
    try:
        problems = home.json("check", str(folder), check=1)
    finally:
        del home.env["TFX_DAGS_EXTRA_QUEUES"]
    assert not [p for p in problems if p["dag_id"] == "wrong_queue"]


def test_the_tfx_environments_command_hands_over_to_the_airflow_environment(
    home: Home,
) -> None:
    tfx_command = settings.tfx_python().parent / "tfx-dags"
    done = subprocess.run(
        [str(tfx_command), "list", str(DAGS), "-o", "json"],
        env=home.env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    assert {row["dag_id"] for row in json.loads(done.stdout)} == PIPELINES


def test_list_shows_every_pipeline_of_the_folder(home: Home) -> None:
    rows = home.json("list", str(DAGS))
    assert {row["dag_id"] for row in rows} == PIPELINES
    penguin = next(row for row in rows if row["dag_id"] == "penguin_keras")
    assert penguin["nodes"] == 9 and penguin["owner"] == "ml-platform"
    assert penguin["file"] == str(DAGS / "penguin.py")
    table = home.cli("list", str(DAGS)).stdout
    assert table.splitlines()[0].split(" | ")[0].strip() == "dag_id"


def test_run_rejects_bad_parameters_before_any_work(home: Home) -> None:
    done = home.cli("run", RUN_DAG, "--conf", '{"train_steps": -5}', check=1)
    assert "--conf:" in done.stderr and "train_steps" in done.stderr
    assert done.stdout == ""
    unknown = home.cli("run", RUN_DAG, "--conf", '{"learning_rate": 1}', check=1)
    assert "not Params of penguin_keras_raw" in unknown.stderr
    missing = home.cli("run", "no_such_dag", check=1)
    assert missing.stderr.startswith("tfx-dags run: error: no DAG 'no_such_dag' in ")


def test_run_and_show_one_pipeline(home: Home) -> None:
    [result] = home.json("run", RUN_DAG, "--conf", '{"train_steps": 50}')
    assert result["succeeded"] and result["state"] == "success"
    assert {task["state"] for task in result["tasks"]} == {"success"}
    assert {task["task_id"] for task in result["tasks"]} >= {"Trainer", "Evaluator", "Pusher"}
    pushed = Path(result["pushed_model"])
    assert (pushed / "saved_model.pb").is_file()

    shown = home.json("show", RUN_DAG)[0]
    assert shown["cache_key"] == Path(shown["compiled"]).name
    assert Path(shown["ir"]).is_file()
    trainer = next(node for node in shown["nodes"] if node["task_id"] == "Trainer")
    assert (trainer["pool"], trainer["queue"]) == (settings.gpu_pool(), settings.gpu_queue())
    [run] = [run for run in shown["runs"] if run["run_id"] == result["run_id"]]
    assert run["nodes"]["Pusher"] == "COMPLETE"
    assert shown["pushed_model"]["destination"] == str(pushed)
    table = home.cli("show", RUN_DAG).stdout
    assert f"pushed model:  {pushed}" in table
