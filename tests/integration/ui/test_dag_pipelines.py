"""The view reads each DAG's compiled pipeline from a real Airflow metadata DB: DAGs of TFX
tasks written there by ``airflow dags reserialize``, as the DAG processor writes them."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from dev import local_airflow
from tests.support.compiled_entries import compiled_entry
from tfx_dags.common import settings
from tfx_dags.ui.dag_pipelines import DagPipelines
from tfx_dags.ui.source import ViewSource

# Real Airflow commands, no DAG run: in make test-fast.
pytestmark = pytest.mark.quick

DAG_FILE = """
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG

from tfx_dags.airflow.operators import TfxNodeOperator

with DAG("own", schedule=None):
    TfxNodeOperator(task_id="A", pipeline_ir={ir!r}, node_id="A") >> TfxNodeOperator(
        task_id="B", pipeline_ir={ir!r}, node_id="B"
    )
with DAG("plain", schedule=None):
    EmptyOperator(task_id="only")
"""


def test_each_dag_names_the_compile_its_latest_version_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dags = tmp_path / "dags"
    dags.mkdir()
    env = local_airflow.environment(tmp_path, dags_folder=dags)
    # A DAG written less than 30 s ago (Airflow's default) is not written again.
    env["AIRFLOW__CORE__MIN_SERIALIZED_DAG_UPDATE_INTERVAL"] = "0"
    local_airflow.init_db(env, log=tmp_path / "logs" / "db-migrate.log")
    first = compiled_entry(tmp_path / "compiled" / "own" / "one", metadata="SQLite /m.db")
    second = compiled_entry(tmp_path / "compiled" / "own" / "two", metadata="SQLite /n.db")
    dag_file = dags / "tfx.py"

    def reserialize(ir: Path) -> None:
        dag_file.write_text(textwrap.dedent(DAG_FILE.format(ir=str(ir))))
        local_airflow.airflow(env, "dags", "reserialize", log=tmp_path / "logs" / "reserialize.log")

    reserialize(first)
    pipelines = DagPipelines(database=env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
    assert {name: c.directory for name, c in pipelines.all().items()} == {"own": first.parent}
    assert pipelines.get("plain") is None and pipelines.get("never") is None
    # The pipeline changed: the DAG's new version names its new compile.
    reserialize(second)
    compiled = pipelines.get("own")
    assert compiled is not None and compiled.directory == second.parent
    assert compiled.graph.metadata == "SQLite /n.db"
    # The view: the root of the DAG's compile; for a DAG that names none, the default.
    monkeypatch.setenv("TFX_DAGS_HOME", str(tmp_path))
    source = ViewSource(pipelines)
    assert source.root("own") == second.parent / "root"
    assert source.root("plain") == settings.pipeline_root("plain")
