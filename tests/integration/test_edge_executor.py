"""EdgeExecutor: the Trainer on an Edge worker that reaches the api-server over HTTP only.

The deployment runs two executors, ``LocalExecutor`` (the first, so the default: every other
node) and ``EdgeExecutor``; ``TFX_DAGS_GPU_EXECUTOR=EdgeExecutor`` sends Trainer tasks to it.
One Edge worker on the ``gpu`` queue stands in for a GPU host: its own process, working
directory, Airflow home, logs and node server, no database URI and no ML Metadata
credentials (its tasks get the connection from the api-server). It shares the pipeline root
and the compile cache with the rest, as a GPU host on a shared filesystem would.

1. Two runs at once: both succeed; each Trainer ran on the Edge worker, every other task on
   the LocalExecutor; the single-slot GPU pool keeps the two Trainers apart although the
   worker takes two jobs at a time.
2. A run whose Edge worker alone is killed mid-training (SIGKILL of its process group): the
   job leads a process group of its own, trains on and its task succeeds on its first try.
3. A run whose whole GPU host dies mid-training (SIGKILL of the Edge worker's process group
   and of everything it started: task supervisors, its node server, the node): the task
   fails on its heartbeat timeout, the retry runs on the restarted worker, and nothing of
   the killed attempt is ever published or pushed; the earlier runs' pushes are untouched.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import signal
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from dev import local_airflow
from tests.support.deployment import (
    AIRFLOW,
    HELD_PENGUIN,
    Databases,
    Deployment,
    TrainerHolds,
    free_port,
    require_services,
    trainer_log_once_training,
    wait_for,
)
from tfx_dags.common import settings
from tfx_dags.node_server import client as node_client

DAG_ID = "edge_penguin"
EDGE_WORKER, MAIN_HOST = "gpu-edge", "main-host"
# A thin DAG file of its own (kept out of scheduler_dags/, which other deployments parse):
# up to two runs at once, one quick retry.
DAG_FILE = f'''"""An Airflow DAG of the penguin pipeline (Trainer: TFX_DAGS_GPU_EXECUTOR), its
Trainer held mid-training while the test holds it (deployment.TrainerHolds)."""

from datetime import timedelta

from tfx_dags import RunParam, pipeline_dag, settings

{DAG_ID} = pipeline_dag(
    dag_id="{DAG_ID}",
    pipeline="{HELD_PENGUIN}:create_pipeline",
    pipeline_kwargs={{
        "data_root": str(settings.PROJECT_ROOT / "data" / "penguin"),
        "serving_model_dir": str(settings.serving_dir("{DAG_ID}")),
        "train_steps": 200,
        "min_accuracy": 0.5,
    }},
    run_params={{"train_steps": RunParam(minimum=1, maximum=100_000)}},
    owner="ml-platform",
    tags=("tfx", "edge-test"),
    max_active_runs=2,
    retries=1,
    retry_delay=timedelta(seconds=5),
)
'''
# Steps of the two concurrent runs (distinct, so that no Trainer is a cache hit of another),
# then of the runs whose worker or whole host dies (held mid-training until the fault struck).
CONCURRENT_STEPS, ORPHANED_STEPS, KILLED_STEPS = (3000, 3001), 300, 301
# The operator logs where its node runs.
NODE_STARTED = re.compile(r"TFX node Trainer: process (\d+) ")
# TFX's launcher names the ML Metadata execution it runs.
EXECUTION = re.compile(r"Going to run a new execution (\d+)")


class EdgeRuns:
    def __init__(self, deployment: Deployment, workdir: Path, holds: TrainerHolds) -> None:
        self.deployment = deployment
        self.workdir = workdir
        self.node_server_dir = workdir / "node-server"
        self.worker = ""
        self._start_worker("edge-worker")
        deployment.wait_for_dag(DAG_ID)
        # 1. Two runs at once.
        self.concurrent = [self._trigger(steps) for steps in CONCURRENT_STEPS]
        self.concurrent_runs = [self._wait_finished(run_id) for run_id in self.concurrent]
        self.tasks = {run_id: self._tasks(run_id) for run_id in self.concurrent}
        self.metadata_before = self._query("runs")
        self.pushed_before = self._query("pushed-models")
        self.serving_before = self._serving()

        # 2. Only the worker's own process group dies (a crashed worker daemon): the job it
        # started leads a process group of its own and trains on.
        holds.hold(ORPHANED_STEPS)
        self.orphaned = self._trigger(ORPHANED_STEPS)
        node, _ = self._wait_until_training(self.orphaned)
        worker = self.deployment.processes.pop(self.worker)
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)
        time.sleep(3)
        self.node_outlived_its_worker = _alive(node)
        holds.release(ORPHANED_STEPS)
        self._wait_lifeless()
        self._start_worker("edge-worker-2")
        self.orphaned_run = self._wait_finished(self.orphaned)
        self.orphaned_tasks = {task["task_id"]: task for task in self._tasks(self.orphaned)}

        # 3. The whole host dies mid-training.
        holds.hold(KILLED_STEPS)
        self.killed = self._trigger(KILLED_STEPS)
        node, execution = self._wait_until_training(self.killed)
        self.killed_at = time.time()
        self.host_processes = self._kill_host(node)
        # What the killed attempt had written of its model: the training had not ended.
        model = self.deployment.home / "pipelines" / DAG_ID / "Trainer" / "model" / execution
        self.model_at_kill = sorted(str(path) for path in model.rglob("*") if path.is_file())
        time.sleep(3)
        self.leftovers = [pid for pid in self.host_processes if _alive(pid)]
        holds.release(KILLED_STEPS)
        self._wait_lifeless()
        self._start_worker("edge-worker-3")
        self.killed_run = self._wait_finished(self.killed)
        self.killed_tasks = {task["task_id"]: task for task in self._tasks(self.killed)}
        self.trainer_tries = self.deployment.request(
            "GET",
            f"/api/v2/dags/{DAG_ID}/dagRuns/{self.killed}/taskInstances/Trainer/tries",
        )[1]["task_instances"]
        self.metadata = self._query("runs")
        self.pushed = self._query("pushed-models")
        self.serving = self._serving()
        self.edge_jobs = self.deployment.databases.sql(
            "SELECT run_id, task_id, try_number FROM edge_job ORDER BY run_id, try_number"
        )

    def edge_env(self) -> dict[str, str]:
        """The GPU host's environment: the api-server's address and the shared JWT secret,
        but neither Airflow's database nor any connection's credentials."""
        env = {
            name: value
            for name, value in self.deployment.env.items()
            if not name.startswith("AIRFLOW_CONN_") and name != "TFX_DAGS_WORKER_NAME"
        }
        env.update(
            {
                "AIRFLOW_HOME": str(self.workdir / "airflow"),
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.workdir / 'no-db.sqlite'}",
                "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
                "TFX_DAGS_NODE_SERVER_DIR": str(self.node_server_dir),
            }
        )
        return env

    def _start_worker(self, name: str) -> None:
        log = (self.deployment.home / "logs" / f"{name}.log").open("w")
        command = [str(AIRFLOW), "edge", "worker", "--queues", settings.gpu_queue()]
        # Two jobs at a time: only the GPU pool keeps two Trainers apart.
        command += ["--concurrency", "2", "--edge-hostname", EDGE_WORKER]
        command += ["--pid", str(self.workdir / "worker.pid")]
        self.deployment.processes[name] = subprocess.Popen(
            command,
            cwd=self.workdir,
            env=self.edge_env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for(
            lambda: self._worker_state() in ("idle", "running"),
            timeout=120,
            what=f"Edge worker {name} to register",
            every=1,
        )
        self.worker = name

    def _wait_lifeless(self) -> None:
        """Until the api-server takes the killed worker for lifeless (5 missed heartbeats):
        then the host comes back under its name, as a restarted machine would."""
        wait_for(
            lambda: self._worker_state() in ("unknown", "offline"),
            timeout=120,
            what="the api-server to take the killed Edge worker for lifeless",
            every=1,
        )

    def _worker_state(self) -> str:
        """The worker's state as the api-server knows it ("" before its first word)."""
        try:
            rows = self.deployment.databases.sql(
                f"SELECT state FROM edge_worker WHERE worker_name = '{EDGE_WORKER}'"
            )
        except subprocess.CalledProcessError:  # no edge_worker table yet
            return ""
        return rows[0][0] if rows else ""

    def _trigger(self, steps: int) -> str:
        status, run = self.deployment.request(
            "POST",
            f"/api/v2/dags/{DAG_ID}/dagRuns",
            {"logical_date": None, "conf": {"train_steps": steps}},
        )
        assert status == 200, run
        return str(run["dag_run_id"])

    def _wait_finished(self, run_id: str) -> dict[str, Any]:
        def finished() -> dict[str, Any] | None:
            status, run = self.deployment.request("GET", f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}")
            return run if status == 200 and run["state"] in ("success", "failed") else None

        return wait_for(finished, timeout=900, what=f"run {run_id} to finish")

    def _tasks(self, run_id: str) -> list[dict[str, Any]]:
        return self.deployment.task_instances(DAG_ID, run_id)

    def _wait_until_training(self, run_id: str) -> tuple[int, str]:
        """The pid of the Trainer's node and its ML Metadata execution, once its first
        attempt (on the Edge worker, in the worker's own log folder) logs that training
        began."""
        text = trainer_log_once_training(
            self.workdir / "airflow", DAG_ID, run_id, where=" on the Edge worker"
        )
        match, execution = NODE_STARTED.search(text), EXECUTION.search(text)
        assert match and execution, "the Trainer's log names no node process or execution"
        node = int(match[1])
        assert _alive(node), "the Trainer ended before the fault"
        return node, execution[1]

    def _kill_host(self, node: int) -> list[int]:
        """SIGKILL the GPU host's processes, as a power cut would: the Edge worker's process
        group and everything it started (task supervisors and task processes, the node
        server it runs nodes in, the training node)."""
        worker = self.deployment.processes.pop(self.worker)
        roots = {worker.pid, node}
        for pid_file in self.node_server_dir.glob("*.sock.pid"):
            server = int(pid_file.read_text())
            if b"tfx_dags.server.node_server" in _cmdline(server):
                roots.add(server)
        host = _process_tree(roots)
        os.killpg(worker.pid, signal.SIGKILL)
        for pid in host:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        worker.wait(timeout=30)
        return sorted(host)

    def _query(self, what: str) -> Any:
        env = {**self.deployment.env, "TFX_DAGS_METADATA_URI": self.deployment.databases.mlmd_uri}
        return json.loads(local_airflow.tfx_query(env, what, "--pipeline", DAG_ID))

    def _serving(self) -> dict[str, str]:
        """Every file of the serving folder, with a digest of its content."""
        serving = self.deployment.home / "serving" / DAG_ID
        return {
            str(path.relative_to(serving)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(serving.rglob("*"))
            if path.is_file()
        }


def _process_tree(roots: set[int]) -> set[int]:
    """``roots``, their descendants, and every member of their sessions (a task supervisor
    and a node lead sessions or groups of their own)."""
    table = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        # fields: state, ppid, pgrp, session
        if fields[0] != "Z":
            table[int(stat.parent.name)] = (int(fields[1]), int(fields[3]))
    tree = {pid for pid in roots if pid in table}
    while True:
        # Never this test's own session.
        sessions = {table[pid][1] for pid in tree} - {os.getsid(0)}
        grown = {
            pid
            for pid, (parent, session) in table.items()
            if parent in tree or (session in sessions and session != 0)
        }
        if grown <= tree:
            return tree
        tree |= grown


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _alive(pid: int) -> bool:
    try:
        return "zombie" not in Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False


def _timestamp(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EdgeRuns]:
    require_services("PostgreSQL", "MariaDB")
    home = tmp_path_factory.mktemp("edge-executor")
    dags = home / "dags"
    dags.mkdir()
    (dags / f"{DAG_ID}.py").write_text(DAG_FILE)
    workdir = home / "gpu-host"
    workdir.mkdir()
    holds = TrainerHolds(home / "trainer-holds")
    port = free_port()
    deployment = Deployment(
        home=home,
        dags_folder=dags,
        databases=Databases(),
        port=port,
        executor="LocalExecutor,airflow.providers.edge3.executors.EdgeExecutor",
        extra_env={
            "TFX_DAGS_GPU_EXECUTOR": "EdgeExecutor",
            "AIRFLOW__EDGE__API_ENABLED": "True",
            "AIRFLOW__EDGE__API_URL": f"http://127.0.0.1:{port}/edge_worker/v1/rpcapi",
            "AIRFLOW__EDGE__JOB_POLL_INTERVAL": "1",
            # A worker missing 5 heartbeats is lifeless: 10 s here.
            "AIRFLOW__EDGE__HEARTBEAT_INTERVAL": "2",
            # Keep the finished jobs' records for the checks.
            "AIRFLOW__EDGE__JOB_SUCCESS_PURGE": "120",
            # A task whose host died fails within seconds, not minutes.
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "20",
            "AIRFLOW__CORE__HOSTNAME_CALLABLE": "tfx_dags.common.settings.worker_hostname",
            "TFX_DAGS_WORKER_NAME": MAIN_HOST,
            **holds.env,
        },
    )
    try:
        deployment.start()
        runs = EdgeRuns(deployment, workdir, holds)
        yield runs
    finally:
        # The Edge worker first, while the api-server still takes its last report.
        for name in [name for name in deployment.processes if name.startswith("edge-worker")]:
            worker = deployment.processes.pop(name)
            worker.terminate()
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait()
        deployment.stop()
        node_client.stop_servers(workdir / "node-server")


def test_both_concurrent_runs_succeed(edge: EdgeRuns) -> None:
    for run, run_id in zip(edge.concurrent_runs, edge.concurrent, strict=True):
        states = {task["task_id"]: task["state"] for task in edge.tasks[run_id]}
        assert run["state"] == "success", states
        assert set(states.values()) == {"success"}, states


def test_the_trainer_ran_on_the_edge_worker_and_every_other_task_on_the_local_executor(
    edge: EdgeRuns,
) -> None:
    for run_id, tasks in edge.tasks.items():
        by_id = {task["task_id"]: task for task in tasks}
        trainer = by_id.pop("Trainer")
        assert (trainer["executor"], trainer["hostname"]) == ("EdgeExecutor", EDGE_WORKER)
        assert (trainer["queue"], trainer["pool"]) == (settings.gpu_queue(), settings.gpu_pool())
        # No executor of their own: the first of [core] executor, LocalExecutor.
        assert {(task["executor"], task["hostname"]) for task in by_id.values()} == {
            (None, MAIN_HOST)
        }, run_id
    # The EdgeExecutor was handed Trainer tasks only: one job per try.
    assert {row[1] for row in edge.edge_jobs} == {"Trainer"}
    tries = [(run_id, "1") for run_id in [*edge.concurrent, edge.orphaned, edge.killed]]
    assert sorted((row[0], row[2]) for row in edge.edge_jobs) == sorted(
        [*tries, (edge.killed, "2")]
    )


def test_the_gpu_pool_keeps_the_two_trainers_apart(edge: EdgeRuns) -> None:
    trainers = sorted(
        (task for tasks in edge.tasks.values() for task in tasks if task["task_id"] == "Trainer"),
        key=lambda task: _timestamp(task["start_date"]),
    )
    first, second = [(_timestamp(t["start_date"]), _timestamp(t["end_date"])) for t in trainers]
    assert first[1] <= second[0], (first, second)
    # The later Trainer was ready (scheduled) while the first one trained, and the Edge
    # worker had a free job slot: only the pool held it back.
    assert _timestamp(trainers[1]["scheduled_when"]) < first[1], (trainers[1], first)


def test_the_edge_worker_ran_without_a_database(edge: EdgeRuns) -> None:
    # Its tasks reached ML Metadata (MariaDB, through the connection the api-server serves)
    # and the pipeline root. Airflow's start-up may connect to the database it is configured
    # with, but nothing on the host read or made a table of it: it holds none.
    database = edge.workdir / "no-db.sqlite"
    if database.exists():
        with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
            assert db.execute("SELECT name FROM sqlite_master").fetchall() == []
    for run_id in edge.concurrent:
        assert edge.metadata_before[run_id]["Trainer"]["state"] == "COMPLETE", run_id


def test_a_job_outlives_its_killed_worker_and_its_training_completes(edge: EdgeRuns) -> None:
    # edge3 runs each job in a process group of its own: SIGKILL of the worker's group
    # leaves the task's supervisor and node running; the supervisor reports to the
    # api-server itself, so the task succeeds on its first try.
    assert edge.node_outlived_its_worker
    states = {task_id: task["state"] for task_id, task in edge.orphaned_tasks.items()}
    assert edge.orphaned_run["state"] == "success", states
    assert set(states.values()) == {"success"}, states
    trainer = edge.orphaned_tasks["Trainer"]
    assert (trainer["try_number"], trainer["hostname"]) == (1, EDGE_WORKER)
    execution = edge.metadata[edge.orphaned]["Trainer"]
    assert execution["attempts"] == ["COMPLETE"], execution["attempts"]
    [model] = execution["outputs"]["model"]
    assert (Path(model["uri"]) / "Format-Serving" / "saved_model.pb").is_file()


def test_killing_the_gpu_host_mid_training_fails_the_try_and_the_retry_succeeds(
    edge: EdgeRuns,
) -> None:
    assert edge.leftovers == [], "processes of the killed host live on"
    states = {task_id: task["state"] for task_id, task in edge.killed_tasks.items()}
    assert edge.killed_run["state"] == "success", states
    assert set(states.values()) == {"success"}, states
    tries = {attempt["try_number"]: attempt for attempt in edge.trainer_tries}
    assert sorted(tries) == [1, 2]
    assert tries[1]["state"] in ("failed", "up_for_retry"), tries[1]
    assert tries[2]["state"] == "success"
    assert {tries[1]["hostname"], tries[2]["hostname"]} == {EDGE_WORKER}
    # Nothing downstream ran before the retried Trainer finished.
    trainer_end = _timestamp(edge.killed_tasks["Trainer"]["end_date"])
    for task_id in ("Evaluator", "Pusher"):
        assert _timestamp(edge.killed_tasks[task_id]["start_date"]) >= trainer_end, task_id
        assert edge.killed_tasks[task_id]["try_number"] == 1, task_id


def test_the_killed_attempt_published_no_model_and_pushed_nothing(edge: EdgeRuns) -> None:
    trainer = edge.metadata[edge.killed]["Trainer"]
    # The killed attempt's execution never completed; only the retry's did.
    # The killed attempt had written no model; TFX's launcher took its RUNNING execution up
    # again for the retry (same execution, same output folder), which completed it once.
    assert edge.model_at_kill == [], edge.model_at_kill
    assert trainer["attempts"][-1] == "COMPLETE", trainer["attempts"]
    assert trainer["attempts"].count("COMPLETE") == 1, trainer["attempts"]
    [model] = trainer["outputs"]["model"]
    assert (Path(model["uri"]) / "Format-Serving" / "saved_model.pb").is_file()
    # Every byte of the published model was written after the kill, by the retry.
    written = {path: path.stat().st_mtime for path in Path(model["uri"]).rglob("*")}
    assert all(mtime >= edge.killed_at for mtime in written.values()), written
    # Every push, of any run, is a complete model that a COMPLETE Trainer published, and
    # every folder in the serving directory is one of those pushes.
    assert edge.pushed, "no run pushed a model: the push checks would check nothing"
    complete_models = {
        run["Trainer"]["outputs"]["model"][0]["id"]: run_id
        for run_id, run in edge.metadata.items()
        if run["Trainer"]["state"] == "COMPLETE"
    }
    for push in edge.pushed:
        assert complete_models.get(push["model_id"]) == push["run_id"], push
        assert (Path(push["destination"]) / "saved_model.pb").is_file(), push
    serving = edge.deployment.home / "serving" / DAG_ID
    pushed_folders = {Path(push["destination"]).name for push in edge.pushed}
    assert {path.name for path in serving.iterdir()} == pushed_folders


def test_the_fault_changed_nothing_earlier(edge: EdgeRuns) -> None:
    for run_id in edge.concurrent:
        assert edge.metadata[run_id] == edge.metadata_before[run_id], run_id
    assert edge.pushed[: len(edge.pushed_before)] == edge.pushed_before
    for name, digest in edge.serving_before.items():
        assert edge.serving.get(name) == digest, name
