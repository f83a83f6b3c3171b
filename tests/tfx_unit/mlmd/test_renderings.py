"""What the query command and the TFX view's data render from the read model, on what TFX
records (the JSON the Airflow side reads)."""

from __future__ import annotations

from unittest import mock

from tfx_dags.queries import query, view_data


def test_runs_list_each_nodes_latest_execution_and_its_attempts(penguin) -> None:
    runs = query.RunHistory(penguin.store).runs("penguin")
    trainer = runs["run-1"]["Trainer"]
    assert trainer["attempts"] == ["FAILED", "COMPLETE"]
    assert trainer["state"] == "COMPLETE"
    assert trainer["properties"] == {"train_steps": 10}
    [examples] = trainer["inputs"]["examples"]
    assert examples["id"] == penguin.made["examples"].id
    assert examples["uri"] == penguin.made["examples"].uri
    assert list(trainer) == ["execution_id", "attempts", "state", "inputs", "outputs", "properties"]
    assert runs["run-2"]["Pusher"]["attempts"] == ["CACHED"]
    assert query.RunHistory(None).runs("penguin") == {}


def test_pushed_models_lists_each_runs_pusher_a_cached_one_too(penguin) -> None:
    pushed = penguin.made["pushed"].id
    assert query.RunHistory(penguin.store).pushed_models("penguin") == [
        {
            "run_id": "run-1",
            "node_id": "Pusher",
            "pushed_model_id": pushed,
            "model_id": penguin.made["model"].id,
            "destination": "/serving/penguin/1",
        },
        {
            "run_id": "run-2",
            "node_id": "Pusher",
            "pushed_model_id": pushed,
            "model_id": None,
            "destination": "/serving/penguin/1",
        },
    ]


def test_the_views_model_history_lists_a_push_once_with_the_run_that_made_it(penguin) -> None:
    data = view_data.ViewData(penguin.store, root=penguin.root)
    with mock.patch.object(view_data, "overall_candidate_metrics", lambda uri: {"auc": 1.0}):
        page = data.pipeline("penguin")
    assert [run["run_id"] for run in page["runs"]] == ["run-3", "run-2", "run-1"]
    assert page["runs"][2]["nodes"]["Trainer"] == {
        "execution_id": runs_latest(penguin, "run-1", "Trainer"),
        "state": "COMPLETE",
        "cached": False,
        "attempts": ["FAILED", "COMPLETE"],
    }
    newer, model = page["models"]
    assert model["id"] == penguin.made["model"].id and model["blessed"]
    assert model["metrics"] == {"auc": 1.0}
    assert [(p["id"], p["run_id"]) for p in model["pushes"]] == [
        (penguin.made["pushed"].id, "run-1")
    ]
    assert newer["pushes"] == [] and not newer["blessed"]
    assert newer["evaluations"][0]["baseline_model_id"] == penguin.made["model"].id


def test_a_run_page_lists_each_nodes_artifacts_under_the_root(penguin) -> None:
    data = view_data.ViewData(penguin.store, root=penguin.root)
    with mock.patch.object(view_data, "evaluation_summary", lambda uri: {"evaluation": uri}):
        page = data.run("penguin", "run-1")
    assert [node["node_id"] for node in page["nodes"]] == [
        "CsvExampleGen",
        "Trainer",
        "Evaluator",
        "Pusher",
    ]
    [model] = page["nodes"][1]["outputs"]["model"]
    assert model["type"] == "Model" and model["readable"] and model["path"] == "Model/2"
    assert page["nodes"][1]["type"] == "Trainer"
    evaluation = str(penguin.made["evaluation"].id)
    assert page["summaries"] == {evaluation: {"evaluation": penguin.made["evaluation"].uri}}


def runs_latest(tfx, run_id: str, node_id: str) -> int:
    return query.RunHistory(tfx.store).runs("penguin")[run_id][node_id]["execution_id"]
