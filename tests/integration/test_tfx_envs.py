"""A DAG's TFX environment, by name: what it has installed keys the compile cache, and the
DAG's tasks run their nodes with its interpreter (tfx_dags.common.tfx_envs)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tfx_dags import pipeline_dag
from tfx_dags.airflow.compile_cache import ensure_compiled
from tfx_dags.common import settings, tfx_envs
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
