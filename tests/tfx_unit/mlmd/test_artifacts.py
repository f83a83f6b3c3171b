"""tfx_dags.mlmd.artifacts and events on what TFX records: artifact records, what an execution
read and wrote, and the one definition of a push."""

from __future__ import annotations

from tfx_dags.mlmd import artifacts, events, executions, lineage


def test_artifact_records_carry_their_type_state_and_properties(penguin) -> None:
    blessing = penguin.made["blessing"]
    [record] = artifacts.by_id(penguin.store, [blessing.id]).values()
    assert record.type == "ModelBlessing"
    assert record.uri == blessing.uri
    assert record.state == "LIVE"
    assert record.custom_properties["blessed"] == 1
    assert record.custom_properties["current_model_id"] == penguin.made["model"].id
    assert artifacts.by_id(penguin.store, []) == {}


def test_an_executions_inputs_and_outputs_by_key(penguin) -> None:
    pusher = executions.newest_execution(penguin.store, "penguin", "Pusher", "run-1")
    io = events.io(events.of_executions(penguin.store, [pusher.id]))[pusher.id]
    assert io.inputs == {
        "model": (penguin.made["model"].id,),
        "model_blessing": (penguin.made["blessing"].id,),
    }
    assert io.outputs == {"pushed_model": (penguin.made["pushed"].id,)}


def test_the_node_runners_result_lists_artifacts_as_ml_metadata_recorded_them(penguin) -> None:
    pusher = lineage.completed_execution(penguin.store, "penguin", "Pusher", "run-1")
    found = lineage.execution_artifacts(penguin.store, pusher.id)
    [pushed] = found["outputs"]["pushed_model"]
    assert pushed == {
        "id": penguin.made["pushed"].id,
        "uri": penguin.made["pushed"].uri,
        "type": "PushedModel",
        "custom_properties": {
            "pushed": 1,
            "pushed_destination": "/serving/penguin/1",
            "tfx_version": pushed["custom_properties"]["tfx_version"],
        },
    }
    assert [a["type"] for a in found["inputs"]["model"]] == ["Model"]


def test_a_push_is_a_pushed_model_marked_pushed_and_a_cached_pusher_reuses_it(penguin) -> None:
    every = events.of_executions(
        penguin.store, (e.id for e in executions.of_pipeline(penguin.store, "penguin"))
    )
    found = artifacts.pushes(every, artifacts.by_id(penguin.store, (e.artifact_id for e in every)))
    # run-3's Pusher did not push (pushed = 0); run-2's cached Pusher outputs run-1's push.
    assert [(p.pushed_model_id, p.made_here) for p in found] == [
        (penguin.made["pushed"].id, True),
        (penguin.made["pushed"].id, False),
    ]
    made, cached = found
    assert made.model_id == penguin.made["model"].id
    assert cached.model_id is None  # a cached execution records no inputs
    assert made.destination == cached.destination == "/serving/penguin/1"


def test_the_producer_of_an_artifact_is_the_first_execution_that_output_it(penguin) -> None:
    every = events.of_artifacts(penguin.store, [penguin.made["model"].id])
    trainer = executions.completed_execution(penguin.store, "penguin", "Trainer", "run-1")
    assert events.producers(every) == {penguin.made["model"].id: trainer.id}
