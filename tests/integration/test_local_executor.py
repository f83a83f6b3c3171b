"""A real deployment: scheduler + LocalExecutor on PostgreSQL, ML Metadata on MariaDB.

Two TFX DAG runs at once, on two TFX lines (scale_penguin_a on TFX 1.16, scale_penguin_b on
TFX 1.15, one ML Metadata store): one triggered through the REST API with run parameters,
one started by an Asset event for new input data. Their Trainers share the one-slot GPU pool,
so they must never overlap, while other tasks do run in parallel. The push emits an Asset
event that starts a downstream DAG. Bad trigger parameters are refused before any run exists.
`tfx-dags show` and the TFX view list both lines' runs. Then scale_penguin_b moves to TFX
1.16: its next run stops before any work, since its history is TFX 1.15's.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from dev import local_airflow
from tests.support.deployment import Databases, Deployment, require_services
from tfx_dags.common import settings, tfx_envs

DAGS = Path(__file__).resolve().parent / "scheduler_dags"
DATA_ROOT = settings.PROJECT_ROOT / "data" / "penguin"


class ScaleRuns:
    def __init__(self, deployment: Deployment) -> None:
        self.deployment = deployment
        for dag_id in ("scale_penguin_a", "scale_penguin_b", "scale_model_follower"):
            self.deployment.wait_for_dag(dag_id)
        self.details = self.deployment.request("GET", "/api/v2/dags/scale_penguin_a/details")[1]
        self.bad_triggers = [
            self.deployment.request(
                "POST", "/api/v2/dags/scale_penguin_a/dagRuns", {"logical_date": None, "conf": conf}
            )
            for conf in ({"train_steps": 0}, {"train_steps": "many"}, {"data_root": "../../etc"})
        ]
        self.bad_cli = local_airflow.airflow(
            self.deployment.env,
            "dags",
            "trigger",
            "scale_penguin_a",
            "-c",
            json.dumps({"train_steps": -5}),
            check=False,
        )
        self.runs_after_bad_triggers = self._run_count("scale_penguin_a")
        # Both runs start together: one by hand with parameters, one by new data.
        self.triggered = self.deployment.request(
            "POST",
            "/api/v2/dags/scale_penguin_a/dagRuns",
            {"logical_date": None, "conf": {"train_steps": 1200}},
        )
        self.data_event = self._post_asset_event(f"file://{DATA_ROOT}")
        self.runs = {
            dag_id: self.deployment.wait_for_runs(dag_id, timeout=900)
            for dag_id in ("scale_penguin_a", "scale_penguin_b")
        }
        self.follower_runs = self.deployment.wait_for_runs("scale_model_follower", timeout=180)
        self.tasks = {
            dag_id: self.deployment.task_instances(dag_id, runs[0]["dag_run_id"])
            for dag_id, runs in self.runs.items()
        }
        self.mlmd_env = {
            **deployment.env,
            "TFX_DAGS_METADATA_URI": deployment.databases.mlmd_uri,
        }
        self.metadata = {dag_id: self._metadata_runs(dag_id) for dag_id in self.runs}
        self.logs = self.deployment.logs_text()
        self.node_commands = {dag_id: self._node_interpreters(dag_id) for dag_id in self.runs}
        # What the CLI and the TFX view show of the two lines' runs.
        self.shown = {dag_id: self._show(dag_id) for dag_id in self.runs}
        token = self.deployment.token()
        self.view_index = self._view("/tfx/", token)
        self.view_pages = {
            dag_id: self._view(f"/tfx/pipelines/{dag_id}", token) for dag_id in self.runs
        }
        # The team moves scale_penguin_b to TFX 1.16 (its tfx_env=); the workers parse the
        # DAG file for each task, so the next run's nodes are TFX 1.16's.
        (deployment.home / "moved_dags.json").write_text(json.dumps({"scale_penguin_b": "tfx116"}))
        self.moved_trigger = self.deployment.request(
            "POST", "/api/v2/dags/scale_penguin_b/dagRuns", {"logical_date": None, "conf": {}}
        )
        moved_runs = self.deployment.wait_for_runs("scale_penguin_b", count=2, timeout=300)
        [self.moved_run] = [
            run
            for run in moved_runs
            if run["dag_run_id"] != self.runs["scale_penguin_b"][0]["dag_run_id"]
        ]
        self.moved_tasks = self.deployment.task_instances(
            "scale_penguin_b", self.moved_run["dag_run_id"]
        )
        self.moved_metadata = self._metadata_runs("scale_penguin_b")
        self.moved_logs = self.deployment.logs_text()

    def _metadata_runs(self, dag_id: str) -> dict[str, Any]:
        return dict(
            json.loads(local_airflow.tfx_query(self.mlmd_env, "runs", "--pipeline", dag_id))
        )

    def _node_interpreters(self, dag_id: str) -> set[str]:
        """The interpreters the task logs say the DAG's nodes ran with (its compiled
        pipeline's folder in the command names the DAG)."""
        commands = re.findall(
            r"Running command: \['([^']+)', '-m', 'tfx_dags\.runner\.node', '--pipeline-ir', "
            r"'[^']*/compiled/(\w+)/",
            self.logs,
        )
        return {python for python, compiled_dag in commands if compiled_dag == dag_id}

    def _show(self, dag_id: str) -> dict[str, Any]:
        done = subprocess.run(
            [
                str(Path(sys.executable).parent / "tfx-dags"),
                "show",
                dag_id,
                "--dags-folder",
                str(DAGS),
                "-o",
                "json",
            ],
            env=self.deployment.env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
        [shown] = json.loads(done.stdout)
        return dict(shown)

    def _view(self, path: str, token: str) -> str:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.deployment.port}{path}",
            headers={"Authorization": f"Bearer {token}"},
        )
        with urllib.request.urlopen(request, timeout=120) as response:
            return str(response.read().decode())

    def _run_count(self, dag_id: str) -> int:
        return int(
            self.deployment.request("GET", f"/api/v2/dags/{dag_id}/dagRuns")[1]["total_entries"]
        )

    def _post_asset_event(self, uri: str) -> tuple[int, Any]:
        status, assets = self.deployment.request("GET", "/api/v2/assets?limit=100")
        assert status == 200, assets
        [asset_id] = [asset["id"] for asset in assets["assets"] if asset["uri"] == uri]
        return self.deployment.request(
            "POST", "/api/v2/assets/events", {"asset_id": asset_id, "extra": {"from": "test"}}
        )


@pytest.fixture(scope="module")
def scale(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScaleRuns]:
    require_services("PostgreSQL", "MariaDB")
    home = tmp_path_factory.mktemp("local-executor")
    deployment = Deployment(home=home, dags_folder=DAGS, databases=Databases())
    try:
        deployment.start()
        yield ScaleRuns(deployment)
    finally:
        deployment.stop()


def _interval(task: dict[str, Any]) -> tuple[datetime, datetime]:
    return datetime.fromisoformat(task["start_date"]), datetime.fromisoformat(task["end_date"])


def _overlap(a: dict[str, Any], b: dict[str, Any]) -> bool:
    (a_start, a_end), (b_start, b_end) = _interval(a), _interval(b)
    return a_start < b_end and b_start < a_end


def test_the_trigger_form_shows_typed_bounded_parameters(scale: ScaleRuns) -> None:
    params = scale.details["params"]
    assert params["train_steps"]["value"] == 1000
    assert params["train_steps"]["schema"]["type"] == "integer"
    assert params["train_steps"]["schema"]["minimum"] == 1
    assert params["train_steps"]["description"] == "Trainer steps"
    assert params["data_root"]["value"] == "penguin"


def test_bad_parameters_are_refused_before_any_run_exists(scale: ScaleRuns) -> None:
    for (status, body), name in zip(
        scale.bad_triggers, ("train_steps", "train_steps", "data_root"), strict=True
    ):
        assert status == 400, body
        assert f"Invalid input for param {name}" in body["detail"], body
    assert scale.bad_cli.returncode != 0
    assert "train_steps" in scale.bad_cli.stderr + scale.bad_cli.stdout
    assert scale.runs_after_bad_triggers == 0


def test_a_rest_trigger_and_a_data_asset_event_both_run_to_success(scale: ScaleRuns) -> None:
    assert scale.triggered[0] == 200, scale.triggered
    assert scale.data_event[0] == 200, scale.data_event
    for dag_id, runs in scale.runs.items():
        assert [run["state"] for run in runs] == ["success"], dag_id
        assert all(task["state"] == "success" for task in scale.tasks[dag_id]), dag_id
    assert scale.runs["scale_penguin_a"][0]["run_type"] == "manual"
    assert scale.runs["scale_penguin_b"][0]["run_type"] == "asset_triggered"


def test_trainers_never_overlap_while_other_tasks_run_in_parallel(scale: ScaleRuns) -> None:
    a, b = scale.tasks["scale_penguin_a"], scale.tasks["scale_penguin_b"]
    [trainer_a] = [t for t in a if t["task_id"] == "Trainer"]
    [trainer_b] = [t for t in b if t["task_id"] == "Trainer"]
    assert trainer_a["pool"] == trainer_b["pool"] == settings.gpu_pool()
    assert not _overlap(trainer_a, trainer_b), (_interval(trainer_a), _interval(trainer_b))
    parallel = [
        (x["task_id"], y["task_id"])
        for x in a
        for y in b
        if "Trainer" not in (x["task_id"], y["task_id"]) and _overlap(x, y)
    ]
    assert parallel, "no two tasks of the two runs ran at the same time"


def test_independent_branches_of_one_run_run_in_parallel(scale: ScaleRuns) -> None:
    # The resolver of the last blessed model needs nothing upstream: it runs beside the
    # example generation, not after it as in TFX's LocalDagRunner.
    for dag_id, tasks in scale.tasks.items():
        by_id = {task["task_id"]: task for task in tasks}
        resolver, example_gen = by_id["latest_blessed_model_resolver"], by_id["CsvExampleGen"]
        assert _overlap(resolver, example_gen), (
            dag_id,
            _interval(resolver),
            _interval(example_gen),
        )


def test_every_node_was_forked_by_the_worker_node_server(scale: ScaleRuns) -> None:
    started = re.findall(r"TFX node (\S+): process \d+ \(([^)]*)\)", scale.logs)
    assert {how for _node, how in started} == {"forked by the node server"}
    assert {node for node, _how in started} >= {"CsvExampleGen", "Trainer", "Evaluator", "Pusher"}


def test_the_run_parameter_reached_the_trainer_through_ml_metadata_on_mariadb(
    scale: ScaleRuns,
) -> None:
    run_a = scale.runs["scale_penguin_a"][0]["dag_run_id"]
    run_b = scale.runs["scale_penguin_b"][0]["dag_run_id"]
    trainer_a = scale.metadata["scale_penguin_a"][run_a]["Trainer"]
    trainer_b = scale.metadata["scale_penguin_b"][run_b]["Trainer"]
    assert trainer_a["state"] == trainer_b["state"] == "COMPLETE"
    assert json.loads(trainer_a["properties"]["train_args"])["num_steps"] == 1200
    assert json.loads(trainer_b["properties"]["train_args"])["num_steps"] == 1000


def test_the_push_emitted_an_asset_event_that_started_the_follower(scale: ScaleRuns) -> None:
    [follower] = scale.follower_runs
    assert follower["state"] == "success" and follower["run_type"] == "asset_triggered"
    status, events = scale.deployment.request(
        "GET", "/api/v2/assets/events?source_dag_id=scale_penguin_a"
    )
    assert status == 200, events
    [event] = events["asset_events"]
    assert event["source_task_id"] == "Pusher"
    # The DAG files were parsed with the deployment's TFX_DAGS_HOME.
    assert event["uri"] == f"file://{scale.deployment.home / 'serving' / 'scale_penguin_a'}"
    assert Path(event["extra"]["pushed_destination"], "saved_model.pb").is_file()


def test_the_metadata_password_appears_in_no_log(scale: ScaleRuns) -> None:
    assert "Trainer" in scale.logs  # the task logs are there to search
    assert scale.deployment.databases.mlmd_password not in scale.logs


def test_the_deployment_has_the_provisioned_one_slot_gpu_pool(scale: ScaleRuns) -> None:
    status, pool = scale.deployment.request("GET", f"/api/v2/pools/{settings.gpu_pool()}")
    assert status == 200 and pool["slots"] == 1, pool


def test_each_dag_ran_its_nodes_in_its_own_tfx_environment(scale: ScaleRuns) -> None:
    assert scale.node_commands == {
        "scale_penguin_a": {str(tfx_envs.resolve("tfx116").python)},
        "scale_penguin_b": {str(tfx_envs.resolve("tfx115").python)},
    }
    # TFX stamps the version that made each artifact: one store, two lines.
    for dag_id, version in (("scale_penguin_a", "1.16.0"), ("scale_penguin_b", "1.15.1")):
        [run] = scale.metadata[dag_id].values()
        [model] = run["Trainer"]["outputs"]["model"]
        assert model["properties"]["tfx_version"] == version, (dag_id, model["properties"])


def test_cli_and_view_list_the_runs_of_both_lines(scale: ScaleRuns) -> None:
    for dag_id, env, line in (
        ("scale_penguin_a", "tfx116", "1.16"),
        ("scale_penguin_b", "tfx115", "1.15"),
    ):
        shown = scale.shown[dag_id]
        run_id = scale.runs[dag_id][0]["dag_run_id"]
        assert shown["tfx_env"] == env and shown["tfx"].startswith(line + "."), shown
        assert [run["run_id"] for run in shown["runs"]] == [run_id]
        assert shown["runs"][0]["nodes"]["Pusher"] == "COMPLETE"
        assert shown["pushed_model"] is not None
        assert f'href="/tfx/pipelines/{dag_id}"' in scale.view_index
        page = scale.view_pages[dag_id]
        assert f'<span id="tfx-line">TFX {line}</span>' in page and run_id in page
    rows = re.findall(
        r'pipelines/(scale_penguin_\w)">[^<]+</a></td>\s*<td class="tfx-line">([\d.]+)<',
        scale.view_index,
    )
    assert dict(rows) == {"scale_penguin_a": "1.16", "scale_penguin_b": "1.15"}


def test_a_pipeline_moved_to_another_tfx_line_stops_before_any_work(scale: ScaleRuns) -> None:
    # TFX's cache and its latest-blessed-model baseline do not look at the TFX version:
    # TFX 1.16 nodes must not reuse TFX 1.15's outputs or compare against its models.
    assert scale.moved_trigger[0] == 200, scale.moved_trigger
    assert scale.moved_run["state"] == "failed"
    states = {task["task_id"]: (task["state"], task["try_number"]) for task in scale.moved_tasks}
    assert states["CsvExampleGen"] == ("failed", 1)  # no retry: the same store fails the same way
    assert states["Trainer"][0] in ("upstream_failed", None)
    assert (
        "holds the runs of TFX 1.15, and this DAG's TFX environment has TFX 1.16"
        in scale.moved_logs
    )
    assert "give the pipeline another name for TFX 1.16" in scale.moved_logs
    # Nothing was written: the pipeline's history is still its one TFX 1.15 run.
    assert scale.moved_metadata == scale.metadata["scale_penguin_b"]
