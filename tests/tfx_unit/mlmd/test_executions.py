"""tfx_dags.mlmd.executions on what TFX records: runs, nodes and attempts; the node runner's
questions about its own node in its run."""

from __future__ import annotations

from tfx_dags.mlmd import executions
from tfx_dags.mlmd.records import PipelineRun


def runs(tfx) -> dict[str, PipelineRun]:
    return executions.runs(tfx.store, "penguin", executions.of_pipeline(tfx.store, "penguin"))


def test_a_runs_nodes_keep_every_attempt_oldest_first(penguin) -> None:
    found = runs(penguin)
    assert sorted(found) == ["run-1", "run-2", "run-3"]
    run1 = found["run-1"]
    assert list(run1.nodes) == ["CsvExampleGen", "Trainer", "Evaluator", "Pusher"]
    trainer = run1.nodes["Trainer"]
    assert trainer.states == ["FAILED", "COMPLETE"]
    assert trainer.latest.properties == {"train_steps": 10}
    assert trainer.latest.type == "tfx.components.Trainer"
    assert not trainer.cached
    assert run1.started_ms == min(e.started_ms for n in run1.nodes.values() for e in n.attempts)


def test_a_cache_hit_is_a_cached_execution(penguin) -> None:
    run2 = runs(penguin)["run-2"]
    assert all(node.cached and node.states == ["CACHED"] for node in run2.nodes.values())


def test_a_run_context_holds_the_same_run(penguin) -> None:
    context = penguin.store.get_context_by_type_and_name("pipeline_run", "run-3")
    [run3] = executions.runs(
        penguin.store, "penguin", executions.of_run(penguin.store, context)
    ).values()
    assert run3 == runs(penguin)["run-3"]
    assert run3.nodes["Trainer2"].states == ["RUNNING"]


def test_another_pipelines_runs_are_not_mine(penguin) -> None:
    assert list(
        executions.runs(penguin.store, "other", executions.of_pipeline(penguin.store, "other"))
    ) == ["run-o"]
    assert executions.of_pipeline(penguin.store, "nothing") == []
    assert executions.runs(penguin.store, "nothing", []) == {}


def test_completed_and_newest_execution_of_a_node_in_its_run(penguin) -> None:
    store = penguin.store
    completed = executions.completed_execution(store, "penguin", "Trainer", "run-1")
    newest = executions.newest_execution(store, "penguin", "Trainer", "run-1")
    assert completed.id == newest.id > penguin.made["failed_trainer"].id
    assert executions.completed_execution(store, "penguin", "Trainer2", "run-3") is None
    assert executions.newest_execution(store, "penguin", "Trainer2", "run-3").id == (
        penguin.made["running"].id
    )
    assert executions.completed_execution(store, "penguin", "Pusher", "run-2") is not None
    assert executions.newest_execution(store, "penguin", "Trainer", "no-run") is None


def test_close_unfinished_fails_what_tfx_left_running(penguin) -> None:
    store = penguin.store
    closed = executions.close_unfinished(store, "penguin", "Trainer2", "run-3", reason="killed")
    assert closed == [penguin.made["running"].id]
    [execution] = store.get_executions_by_id(closed)
    assert executions.state_name(execution) == "FAILED"
    assert execution.custom_properties[executions.CLOSED_PROPERTY].string_value == "killed"
    assert executions.close_unfinished(store, "penguin", "Trainer2", "run-3", reason="x") == []
    # A finished node is left as it is.
    assert executions.close_unfinished(store, "penguin", "Trainer", "run-1", reason="x") == []
