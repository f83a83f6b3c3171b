"""Faults on a real deployment (scheduler + LocalExecutor on PostgreSQL, MLMD on MariaDB).

One DAG, four runs, each hit by one fault while it runs or after it finished:

1. SIGKILL of the Trainer's node process mid-training;
2. SIGKILL of the Airflow task process running the Trainer (the node server kills its node);
3. a crash and restart of the scheduler (SIGKILL of its whole process group, LocalExecutor
   workers and tasks included) while the Trainer trains;
4. clearing a finished task, then a whole finished run, which re-runs its tasks.

Every run must complete; ML Metadata must hold exactly one successful Trainer execution per
run and no artifact pointing at a partial model; killed nodes leave no process behind; the
re-runs duplicate no artifact and push nothing new. Beside them, a one-node DAG without
retries (fault_last_try) has its node SIGKILLed, as the out-of-memory killer would: its task
fails for good, and its failure callback closes the execution TFX left RUNNING. Each
Trainer's first attempt holds inside the user's training code (deployment.TrainerHolds)
until its fault has struck; the retry then trains its hundred steps.
"""

from __future__ import annotations

import json
import os
import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dev import local_airflow
from tests.support.deployment import (
    Databases,
    Deployment,
    TrainerHolds,
    first_attempt_log,
    first_attempt_log_once,
    require_services,
    trainer_log_once_training,
    wait_for,
)

DAGS = Path(__file__).resolve().parent / "fault_dags"
DAG_ID = "fault_penguin"
LAST_TRY_DAG_ID = "fault_last_try"
# What held_training/held_node.py's one node prints once its execution is registered.
HOLDING = "held_node: holding"


# The operator logs where its node runs: a child of the node server or of the task process.
NODE_STARTED = re.compile(r"TFX node (\S+): process (\d+) \(.*?\), task process (\d+)")


def node_and_task(log_text: str) -> tuple[int, int]:
    """Pids of the node process and of its task process, from the task's log."""
    match = NODE_STARTED.search(log_text)
    assert match, "the task log names no node process"
    return int(match[2]), int(match[3])


def alive(pid: int) -> bool:
    status = Path(f"/proc/{pid}/status")
    try:
        return "zombie" not in status.read_text()
    except OSError:
        return False


def group_members(group: int) -> list[int]:
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        # fields: state, ppid, pgrp, ...; a zombie is already gone.
        if int(fields[2]) == group and fields[0] != "Z":
            members.append(int(stat.parent.name))
    return members


class FaultRuns:
    def __init__(self, deployment: Deployment, holds: TrainerHolds) -> None:
        self.deployment = deployment
        self.holds = holds
        deployment.wait_for_dag(DAG_ID)
        deployment.wait_for_dag(LAST_TRY_DAG_ID)
        self.leftovers: dict[str, list[int]] = {}
        self._steps: dict[str, int] = {}
        # Started first, struck once run 1 has ended: it holds meanwhile.
        self.last_try_run = self._trigger_the_last_try()
        first = self._run_killing_the_trainer(kill_parent=False)
        self._kill_the_last_trys_node()
        self.run_ids = [
            first,
            self._run_killing_the_trainer(kill_parent=True),
            self._run_restarting_the_scheduler(),
        ]
        self.states_before_clear = self._states()
        self.pushed_before_clear = self._pushed()
        self.serving_before_clear = self._serving_listing()
        self.metadata_before_clear = self._metadata()
        # One finished task cleared, then the whole run: both re-run against the cache.
        self.clear_task = self._clear(self.run_ids[1], task_ids=["Trainer"])
        self.cleared_task_run = self._wait_finished(self.run_ids[1], after=time.time() - 1)
        self.clear = self._clear(self.run_ids[0])
        self.cleared_run = self._wait_finished(self.run_ids[0], after=time.time() - 1)
        self.metadata = self._metadata()
        self.pushed = self._pushed()
        self.states = self._states()
        self.last_try = self._wait_finished(self.last_try_run, dag_id=LAST_TRY_DAG_ID)
        self.last_try_tasks = deployment.task_instances(LAST_TRY_DAG_ID, self.last_try_run)
        self.last_try_log = first_attempt_log(
            deployment.home / "airflow", LAST_TRY_DAG_ID, self.last_try_run, "Holds"
        ).read_text()
        # The failure callback runs after the task has reported its state.
        self.last_try_metadata = wait_for(
            lambda: self._closed(self._metadata(LAST_TRY_DAG_ID)),
            timeout=120,
            what="the last try's execution to be closed",
        )

    def _states(self) -> dict[str, dict[str, dict[str, Any]]]:
        return {
            run_id: {t["task_id"]: t for t in self.deployment.task_instances(DAG_ID, run_id)}
            for run_id in self.run_ids
        }

    def _clear(self, run_id: str, task_ids: list[str] | None = None) -> tuple[int, Any]:
        body: dict[str, Any] = {
            "dag_run_id": run_id,
            "only_failed": False,
            "dry_run": False,
            "reset_dag_runs": True,
        }
        if task_ids:
            body["task_ids"] = task_ids
        started = time.time()
        result = self.deployment.request("POST", f"/api/v2/dags/{DAG_ID}/clearTaskInstances", body)
        # The run is queued again before the clear returns; wait until it ran again.
        wait_for(
            lambda: (
                self._run(run_id).get("state") not in ("success", "failed")
                or _timestamp(self._run(run_id).get("end_date") or "1970-01-01T00:00:00+00:00")
                > started
            ),
            timeout=120,
            what=f"run {run_id} to restart",
        )
        return result

    def _run(self, run_id: str) -> dict[str, Any]:
        return self.deployment.request("GET", f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}")[1]  # type: ignore[no-any-return]

    def _trigger(self) -> str:
        """A run whose Trainer holds mid-training until released; its step count is its own,
        so that its Trainer trains rather than hitting the cache."""
        steps = 100 + len(self._steps)
        self.holds.hold(steps)
        conf = {"train_steps": steps}
        status, run = self.deployment.request(
            "POST", f"/api/v2/dags/{DAG_ID}/dagRuns", {"logical_date": None, "conf": conf}
        )
        assert status == 200, run
        self._steps[str(run["dag_run_id"])] = steps
        return str(run["dag_run_id"])

    def _wait_finished(self, run_id: str, after: float = 0, dag_id: str = DAG_ID) -> dict[str, Any]:
        def finished() -> dict[str, Any] | None:
            status, run = self.deployment.request("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}")
            ended = run.get("end_date") if status == 200 else None
            if run.get("state") in ("success", "failed") and ended and _timestamp(ended) > after:
                return run
            return None

        return wait_for(finished, timeout=900, what=f"run {run_id} to finish")  # type: ignore[no-any-return]

    def _trigger_the_last_try(self) -> str:
        status, run = self.deployment.request(
            "POST", f"/api/v2/dags/{LAST_TRY_DAG_ID}/dagRuns", {"logical_date": None}
        )
        assert status == 200, run
        return str(run["dag_run_id"])

    def _kill_the_last_trys_node(self) -> None:
        """SIGKILL of the node of the DAG without retries, while ML Metadata has its execution
        RUNNING; the other runs go on meanwhile."""
        text = first_attempt_log_once(
            self.deployment.home / "airflow",
            LAST_TRY_DAG_ID,
            self.last_try_run,
            "Holds",
            marker=HOLDING,
            what="the last try's node to hold",
        )
        node, _ = node_and_task(text)
        os.kill(node, signal.SIGKILL)

    @staticmethod
    def _closed(metadata: dict[str, Any]) -> dict[str, Any] | None:
        attempts = [node["attempts"] for run in metadata.values() for node in run.values()]
        return metadata if attempts and "RUNNING" not in sum(attempts, []) else None

    def _run_killing_the_trainer(self, *, kill_parent: bool) -> str:
        run_id = self._trigger()
        node, task = self._wait_until_training(run_id)
        victim = task if kill_parent else node
        os.kill(victim, signal.SIGKILL)
        time.sleep(5)
        self.leftovers["parent" if kill_parent else "node"] = group_members(node)
        self.holds.release(self._steps[run_id])
        self._wait_finished(run_id)
        return run_id

    def _wait_until_training(self, run_id: str) -> tuple[int, int]:
        """Until the Trainer's first attempt is held inside the user's training code."""
        text = trainer_log_once_training(self.deployment.home / "airflow", DAG_ID, run_id, where="")
        node, task = node_and_task(text)
        assert alive(node), "the Trainer ended before the fault"
        return node, task

    def _run_restarting_the_scheduler(self) -> str:
        run_id = self._trigger()
        # Mid-run: while the Trainer trains. The scheduler's whole process group goes, as
        # when its machine restarts: its LocalExecutor workers and their tasks with it.
        self._wait_until_training(run_id)
        # SIGKILL, as a crash or a power cut would: a polite SIGTERM lets the scheduler wait
        # for its running tasks, which is not a restart in the middle of the run.
        scheduler = self.deployment.processes.pop("scheduler")
        os.killpg(scheduler.pid, signal.SIGKILL)
        scheduler.wait(timeout=30)
        time.sleep(5)
        self.holds.release(self._steps[run_id])
        self.deployment._spawn("scheduler-2", ["scheduler"])
        self._wait_finished(run_id)
        return run_id

    def _metadata(self, dag_id: str = DAG_ID) -> dict[str, Any]:
        env = {**self.deployment.env, "TFX_DAGS_METADATA_URI": self.deployment.databases.mlmd_uri}
        return json.loads(local_airflow.tfx_query(env, "runs", "--pipeline", dag_id))  # type: ignore[no-any-return]

    def _pushed(self) -> list[dict[str, Any]]:
        env = {**self.deployment.env, "TFX_DAGS_METADATA_URI": self.deployment.databases.mlmd_uri}
        return json.loads(local_airflow.tfx_query(env, "pushed-models", "--pipeline", DAG_ID))  # type: ignore[no-any-return]

    def _serving_listing(self) -> list[str]:
        serving = self.deployment.home / "serving" / DAG_ID
        return sorted(str(p.relative_to(serving)) for p in serving.rglob("*"))


def _timestamp(iso: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(iso).timestamp()


@pytest.fixture(scope="module")
def faults(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultRuns]:
    require_services("PostgreSQL", "MariaDB")
    home = tmp_path_factory.mktemp("faults")
    holds = TrainerHolds(home / "trainer-holds")
    deployment = Deployment(
        home=home,
        dags_folder=DAGS,
        databases=Databases(),
        # A task whose process died is noticed within seconds, not minutes.
        extra_env={
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "30",
            # A restarted scheduler adopts the dead one's running tasks soon (defaults: 30 s
            # without heartbeat makes a scheduler dead, orphans are looked for every 300 s).
            "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_THRESHOLD": "15",
            "AIRFLOW__SCHEDULER__ORPHANED_TASKS_CHECK_INTERVAL": "15",
            **holds.env,
        },
    )
    try:
        deployment.start()
        yield FaultRuns(deployment, holds)
    finally:
        deployment.stop()


def all_artifact_ids(metadata: dict[str, Any]) -> set[int]:
    return {
        artifact["id"]
        for run in metadata.values()
        for node in run.values()
        for artifacts in node["outputs"].values()
        for artifact in artifacts
    }


def test_every_run_completes_despite_its_fault(faults: FaultRuns) -> None:
    for run_id in faults.run_ids:
        states = {task_id: task["state"] for task_id, task in faults.states[run_id].items()}
        assert set(states.values()) == {"success"}, (run_id, states)
    assert faults.cleared_run["state"] == "success"


def test_a_killed_trainer_failed_and_its_retry_succeeded(faults: FaultRuns) -> None:
    # Run 3's Trainer was killed with the scheduler's process group.
    for run_id in faults.run_ids:
        assert faults.states_before_clear[run_id]["Trainer"]["try_number"] == 2, run_id


def test_killed_nodes_leave_no_process_behind(faults: FaultRuns) -> None:
    assert faults.leftovers == {"node": [], "parent": []}


def test_each_run_has_exactly_one_successful_trainer_and_no_partial_model(
    faults: FaultRuns,
) -> None:
    for run_id in faults.run_ids:
        trainer = faults.metadata_before_clear[run_id]["Trainer"]
        assert trainer["state"] == "COMPLETE", (run_id, trainer)
        assert trainer["attempts"].count("COMPLETE") == 1, (run_id, trainer["attempts"])
        [model] = trainer["outputs"]["model"]
        assert (Path(model["uri"]) / "Format-Serving" / "saved_model.pb").is_file()
    # Every model artifact ML Metadata knows is complete (the killed attempts published none).
    for run in faults.metadata.values():
        for node in run.values():
            for model in node["outputs"].get("model", []):
                assert (Path(model["uri"]) / "Format-Serving" / "saved_model.pb").is_file()


def test_no_execution_is_left_running_once_the_runs_ended(faults: FaultRuns) -> None:
    # A killed attempt's execution stays RUNNING only until its retry starts: TFX's launcher
    # takes up the node's one execution in the run and publishes it; nothing else runs it.
    for run_id, run in faults.metadata.items():
        for node_id, node in run.items():
            assert not {"NEW", "RUNNING"} & set(node["attempts"]), (run_id, node_id, node)
    for run_id in faults.run_ids:
        attempts = faults.metadata_before_clear[run_id]["Trainer"]["attempts"]
        assert attempts == ["COMPLETE"], (run_id, attempts)


def test_later_runs_reuse_unchanged_nodes_through_tfx_caching(faults: FaultRuns) -> None:
    for run_id in faults.run_ids[1:]:
        run = faults.metadata_before_clear[run_id]
        assert run["CsvExampleGen"]["state"] == run["StatisticsGen"]["state"] == "CACHED"


def test_a_cleared_task_or_run_re_runs_without_changing_anything(faults: FaultRuns) -> None:
    assert faults.clear_task[0] == 200 and faults.clear[0] == 200, (faults.clear_task, faults.clear)
    assert faults.cleared_task_run["state"] == "success"
    # Each node reused its own earlier success in the run: no new execution, no new artifact,
    # no new push, although the latest blessed model (the Evaluator's baseline) has changed.
    assert faults.metadata == faults.metadata_before_clear
    assert all_artifact_ids(faults.metadata) == all_artifact_ids(faults.metadata_before_clear)
    assert faults.pushed == faults.pushed_before_clear
    assert faults._serving_listing() == faults.serving_before_clear


def test_a_node_killed_on_its_last_try_leaves_no_execution_running(faults: FaultRuns) -> None:
    # TFX's launcher closes an execution at its end or when a retry takes it up; with no
    # retry left, the task's failure callback closes it, saying why.
    assert faults.last_try["state"] == "failed"
    [task] = faults.last_try_tasks
    assert (task["state"], task["try_number"]) == ("failed", 1), task
    assert "TFX node Holds failed with exit code -9" in faults.last_try_log
    [run] = faults.last_try_metadata.values()
    assert run["Holds"]["attempts"] == ["FAILED"], run
    assert run["Holds"]["properties"]["tfx_dags_closed"] == (
        f"task Holds of run {faults.last_try_run} failed with its node unfinished"
    )
    execution_id = run["Holds"]["execution_id"]
    assert f"execution(s) [{execution_id}] of node Holds, left unfinished, closed as FAILED" in (
        faults.last_try_log
    )
