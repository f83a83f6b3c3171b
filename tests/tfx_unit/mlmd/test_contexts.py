"""tfx_dags.mlmd.contexts on TFX's contexts: pipelines, their runs, an execution's run and
node; and connection.PipelineStores, the one rule for which store holds a pipeline."""

from __future__ import annotations

from typing import Any

import pytest

from tfx_dags.mlmd import contexts, executions
from tfx_dags.mlmd.connection import PipelineStores, StoreMissing


def test_pipelines_and_their_tfx_lines(penguin) -> None:
    assert contexts.pipelines(penguin.store) == ["other", "penguin"]
    assert contexts.tfx_lines(penguin.store) == {}
    context = contexts.pipeline_context(penguin.store, "penguin")
    context.custom_properties[contexts.LINE_PROPERTY].string_value = "1.16"
    penguin.store.put_contexts([context])
    assert contexts.tfx_lines(penguin.store) == {"penguin": "1.16"}
    assert contexts.has_pipeline(penguin.store, "penguin")
    assert not contexts.has_pipeline(penguin.store, "nothing")


def test_a_pipelines_runs_newest_first_and_only_its_own(penguin) -> None:
    names = [c.name for c in contexts.run_contexts(penguin.store, "penguin", safe_name=True)]
    assert sorted(names) == ["run-1", "run-2", "run-3"]
    assert names[-1] == "run-1"
    assert contexts.run_context(penguin.store, "penguin", "run-2").name == "run-2"
    assert contexts.run_context(penguin.store, "penguin", "run-o") is None
    assert contexts.run_context(penguin.store, "penguin", "no-run") is None
    with pytest.raises(ValueError):
        contexts.run_contexts(penguin.store, "penguin", safe_name=False)


def test_an_executions_run_and_node(penguin) -> None:
    trainer = executions.newest_execution(penguin.store, "penguin", "Trainer", "run-1")
    found = contexts.ExecutionContexts(penguin.store)
    assert found.of(trainer.id) == {"pipeline_run": "run-1", "node": "penguin.Trainer"}
    assert found.run_and_node("penguin", trainer.id) == ("run-1", "Trainer")
    assert found.run_of(trainer.id) == "run-1"


def test_an_artifact_belongs_to_the_pipeline_whose_executions_touched_it(penguin) -> None:
    model = penguin.made["model"].id
    assert contexts.artifact_in_pipeline(penguin.store, "penguin", model)
    assert not contexts.artifact_in_pipeline(penguin.store, "other", model)
    assert not contexts.artifact_in_pipeline(penguin.store, "nothing", model)


class Opener:
    """Stores by config (None: the deployment's), each open counted; a missing one raises."""

    def __init__(self, stores: dict[Any, Any]) -> None:
        self.stores = stores
        self.opened: list[Any] = []

    def __call__(self, config: Any) -> Any:
        key = None if config is None else config.sqlite.filename_uri
        self.opened.append(key)
        if self.stores.get(key) is None:
            raise StoreMissing(f"no store {key}")
        return self.stores[key]


def sqlite(path: str) -> Any:
    from ml_metadata.proto import metadata_store_pb2

    config = metadata_store_pb2.ConnectionConfig()
    config.sqlite.filename_uri = path
    return config


def test_a_pipeline_is_read_where_it_ran_each_store_opened_once(penguin) -> None:
    own_store = object()
    opener = Opener({None: penguin.store, "/own.db": own_store})
    stores = PipelineStores(opener)
    # Run with the deployment's store: read there, its own set aside.
    assert stores.of_pipeline("penguin", sqlite("/own.db")) is penguin.store
    assert stores.of_pipeline("penguin", None) is penguin.store
    # No runs there: its own store, opened once for the two pipelines that keep it.
    assert stores.of_pipeline("mine", sqlite("/own.db")) is own_store
    assert stores.of_pipeline("yours", sqlite("/own.db")) is own_store
    assert opener.opened == [None, "/own.db"]
    with pytest.raises(StoreMissing):
        stores.of_pipeline("new", sqlite("/missing.db"))


def test_without_a_deployment_store_a_pipeline_is_read_in_its_own() -> None:
    own_store = object()
    opener = Opener({None: None, "/own.db": own_store})
    stores = PipelineStores(opener)
    assert stores.of_pipeline("mine", sqlite("/own.db")) is own_store
    with pytest.raises(StoreMissing):
        stores.of_pipeline("other", None)
    assert opener.opened == [None, "/own.db"]
