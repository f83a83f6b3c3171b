"""Which compiled pipeline a DAG says it runs: its TFX tasks' IR, serialized with the DAG,
and the manifest beside it; each DAG version read once. (The query of Airflow's metadata
DB: tests/integration/ui/test_dag_pipelines.py.)"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from tests.support.compiled_entries import compiled_entry
from tfx_dags.airflow.compile_entries import CompiledPipeline
from tfx_dags.ui import dag_pipelines
from tfx_dags.ui.dag_pipelines import DagPipelines, LatestVersion, compiled_at, dag_ir


def serialized_round_trip(dag: Any) -> Any:
    """The DAG as the api-server reads it from the metadata DB."""
    from airflow.serialization.serialized_objects import DagSerialization

    return DagSerialization.from_dict(DagSerialization.to_dict(dag))


def test_the_serialized_dag_says_which_ir_its_tfx_tasks_run() -> None:
    from airflow.providers.standard.operators.empty import EmptyOperator
    from airflow.sdk import DAG

    from tfx_dags.airflow.operators import TfxNodeOperator

    with DAG("p", schedule=None) as dag:
        start = EmptyOperator(task_id="start")
        node = TfxNodeOperator(task_id="A", pipeline_ir="/cache/p/k/pipeline_ir.pb", node_id="A")
        start >> node
    assert dag_ir(serialized_round_trip(dag)) == "/cache/p/k/pipeline_ir.pb"
    with DAG("plain", schedule=None) as plain:
        EmptyOperator(task_id="only")
    assert dag_ir(serialized_round_trip(plain)) is None


def test_an_ir_path_names_its_entry_while_the_entry_is_there(tmp_path: Path) -> None:
    ir = compiled_entry(tmp_path / "own" / "key", metadata="SQLite /m.db")
    compiled = compiled_at(str(ir))
    assert compiled is not None and compiled.directory == ir.parent
    assert compiled.graph.metadata == "SQLite /m.db"
    assert compiled.graph.pipeline_root == str(ir.parent / "root")
    assert compiled_at(str(ir.parent / "other.pb")) is None  # not an entry's IR
    (ir.parent / "manifest.json").unlink()
    assert compiled_at(str(ir)) is None  # pruned


class FakeDb:
    """The two queries, answered from ``versions`` ({dag_id: (hash, IR path or None)})."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.versions: dict[str, tuple[str, str | None]] = {}
        self.read: list[list[str]] = []
        monkeypatch.setattr(dag_pipelines, "latest_versions", self.latest)
        monkeypatch.setattr(dag_pipelines, "read_versions", self.read_versions)

    def latest(self, session: Any, dag_ids: Sequence[str] | None) -> list[LatestVersion]:
        return [
            LatestVersion(dag_id, dag_id, dag_hash)
            for dag_id, (dag_hash, _) in self.versions.items()
            if dag_ids is None or dag_id in dag_ids
        ]

    def read_versions(
        self, session: Any, row_ids: Sequence[Any]
    ) -> dict[str, tuple[str, CompiledPipeline | None]]:
        self.read.append(list(row_ids))
        read = {}
        for dag_id in row_ids:
            dag_hash, ir = self.versions[dag_id]
            read[dag_id] = (dag_hash, None if ir is None else compiled_at(ir))
        return read


@pytest.fixture
def fake_db(monkeypatch: pytest.MonkeyPatch) -> FakeDb:
    return FakeDb(monkeypatch)


def no_session() -> Any:
    from contextlib import nullcontext

    return nullcontext(None)


def test_each_dag_version_is_read_once_and_a_new_version_is_read_again(
    tmp_path: Path, fake_db: FakeDb, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = compiled_entry(tmp_path / "own" / "one", metadata="SQLite /m.db")
    second = compiled_entry(tmp_path / "own" / "two")
    fake_db.versions = {"own": ("h1", str(first)), "plain": ("h2", None)}
    dags = DagPipelines()
    monkeypatch.setattr(dags, "_session", no_session)
    assert {name: c.directory for name, c in dags.all().items()} == {"own": first.parent}
    assert dags.get("own") == dags.all()["own"] and dags.get("plain") is None
    assert fake_db.read == [["own", "plain"]]  # the hashes only, after the first read
    fake_db.versions["own"] = ("h3", str(second))  # the DAG parsed with a new compile
    compiled = dags.get("own")
    assert compiled is not None and compiled.directory == second.parent
    assert fake_db.read == [["own", "plain"], ["own"]]


def test_a_dag_whose_entry_was_pruned_or_which_is_gone_names_none(
    tmp_path: Path, fake_db: FakeDb, monkeypatch: pytest.MonkeyPatch
) -> None:
    ir = compiled_entry(tmp_path / "own" / "one")
    fake_db.versions = {"own": ("h1", str(ir))}
    dags = DagPipelines()
    monkeypatch.setattr(dags, "_session", no_session)
    assert dags.get("own") is not None
    (ir.parent / "manifest.json").unlink()
    assert dags.get("own") is None and dags.all() == {}
    assert dags.get("deleted") is None
