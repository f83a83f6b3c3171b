"""A load run on a real Celery deployment, shared by bench/load.py and
tests/integration/test_celery_executor.py.

The deployment is deployment.py's (api-server, scheduler, dag-processor, Airflow on
PostgreSQL, ML Metadata on MariaDB) with the CeleryExecutor on Redis, default workers
consuming the default queue and one GPU worker consuming the ``gpu`` queue, where the factory
sends the Trainer (and the one-slot GPU pool: tfx_dags/airflow/factory.py ``_placement``).
Runs are triggered in a burst through the REST API; a default worker can be SIGKILLed (its
whole process group: the Celery worker, its pool and the tasks it runs) while it runs tasks,
and restarted under the same name. ``LoadRun.report`` then collects, from the REST API and
ML Metadata, what the load did: runs and their states, task tries, the killed worker's
tasks, every Trainer try's interval and host, ML Metadata executions left unfinished, pushes
per run; a sampler records the deployment's memory meanwhile.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from dev import local_airflow
from tests.support.deployment import Databases, Deployment, free_port, wait_for
from tfx_dags.common import settings

GPU_WORKER = "gpu-worker"
# Seconds without a heartbeat before the scheduler fails a killed worker's task (Airflow's
# default is 300 s): its retry then follows after the DAG's retry_delay.
HEARTBEAT_TIMEOUT_S = 30
UNFINISHED = ("NEW", "RUNNING")
# Tasks whose node runs for seconds (Beam-backed), so that a kill lands inside one.
LONG_TASKS = ("CsvExampleGen", "StatisticsGen", "Transform", "Evaluator")
# In a task's log: TFX's launcher has registered the node's execution in ML Metadata and runs
# it; the node runner's last lines (tfx_dags.runner.node) start with the other.
EXECUTING, NODE_ENDED = "Going to run a new execution", "tfx_dags: node {task_id} "


@dataclass(frozen=True)
class Worker:
    """A Celery worker: its name (the hostname its task instances record), its queue and its
    concurrency."""

    name: str
    queue: str
    concurrency: int

    def spawn(self) -> tuple[str, list[str], dict[str, str]]:
        """Deployment.start's (name, airflow arguments, environment) for this worker."""
        args = [
            "celery",
            "worker",
            "--queues",
            self.queue,
            "--concurrency",
            str(self.concurrency),
            "--celery-hostname",
            f"{self.name}@%h",
            "--without-mingle",
            "--without-gossip",
        ]
        env = {
            "TFX_DAGS_WORKER_NAME": self.name,
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
        }
        return self.name, args, env


def workers(*, default_workers: int, concurrency: int) -> list[Worker]:
    """``default_workers`` default-queue workers (``cpu-worker-1``, ...) of ``concurrency``
    slots each, and one GPU worker of one slot."""
    return [
        *(
            Worker(f"cpu-worker-{index}", settings.default_queue(), concurrency)
            for index in range(1, default_workers + 1)
        ),
        Worker(GPU_WORKER, settings.gpu_queue(), 1),
    ]


def celery_deployment(
    home: Path, dags_folder: Path, pool: Sequence[Worker], extra_env: Mapping[str, str] = {}
) -> Deployment:
    """A deployment with the CeleryExecutor on Redis for these workers (not started)."""
    databases = Databases()
    return Deployment(
        home=home,
        dags_folder=dags_folder,
        databases=databases,
        executor="CeleryExecutor",
        extra_env={
            # A Redis database of its own, so that a concurrent deployment's queue is apart.
            "AIRFLOW__CELERY__BROKER_URL": f"redis://127.0.0.1:6379/{secrets.randbelow(15) + 1}",
            "AIRFLOW__CELERY__RESULT_BACKEND": "db+"
            + databases.airflow_uri.replace("postgresql+psycopg2", "postgresql"),
            "AIRFLOW__CORE__HOSTNAME_CALLABLE": "tfx_dags.common.settings.worker_hostname",
            # As many tasks at once as the workers have slots: none waits in the broker.
            "AIRFLOW__CORE__PARALLELISM": str(sum(worker.concurrency for worker in pool)),
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": str(HEARTBEAT_TIMEOUT_S),
            **extra_env,
        },
    )


@dataclass(frozen=True)
class RunRef:
    dag_id: str
    run_id: str


@dataclass
class Kill:
    """A worker SIGKILLed mid-run: when, and the tries it was running (dag_id, run_id,
    task_id, try_number), still running after the kill."""

    worker: str
    at: float
    tries: list[tuple[str, str, str, int]]


class MemorySampler(threading.Thread):
    """Samples, every ``every`` seconds, the resident memory of the processes under
    ``roots()`` (and all their descendants): the sum of their RSS (shared pages counted in
    each process, so forked nodes count their server's pages again) and of their PSS (shared
    pages split between their sharers)."""

    def __init__(self, roots: Callable[[], Iterable[int]], *, every: float = 1.0) -> None:
        super().__init__(daemon=True)
        self._roots = roots
        self._every = every
        self._halt = threading.Event()
        self.peak_rss = self.peak_pss = 0
        self.peak_processes = 0

    def run(self) -> None:
        while not self._halt.wait(self._every):
            pids = descendants(set(self._roots()))
            rss = pss = 0
            for pid in pids:
                rss += _rss(pid)
                pss += _pss(pid)
            self.peak_rss = max(self.peak_rss, rss)
            self.peak_pss = max(self.peak_pss, pss)
            self.peak_processes = max(self.peak_processes, len(pids))

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=30)


def descendants(roots: set[int]) -> set[int]:
    """These pids and every live process below them."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[0] != "Z":  # fields: state, ppid, ...
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = set(), [pid for pid in roots if Path(f"/proc/{pid}").exists()]
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo.extend(children.get(pid, ()))
    return found


def _rss(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, IndexError, ValueError):
        return 0


def _pss(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except (OSError, IndexError, ValueError):
        pass
    return 0


def node_servers(directory: Path) -> list[int]:
    """Pids of the node servers of this folder (their pid files), alive or not."""
    pids = []
    for pid_file in directory.glob("*.sock.pid"):
        try:
            pids.append(int(pid_file.read_text()))
        except (OSError, ValueError):
            continue
    return pids


def timestamp(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


class LoadRun:
    """Drives one started-or-not deployment: triggers, kills, waits, reports."""

    def __init__(self, deployment: Deployment, pool: Sequence[Worker]) -> None:
        self.deployment = deployment
        self.pool = list(pool)
        self.kills: list[Kill] = []
        # Each worker's entry in deployment.processes (a restarted worker has a new one).
        self._process_of = {worker.name: worker.name for worker in self.pool}
        server_dir = deployment.env.get("TFX_DAGS_NODE_SERVER_DIR")
        self.node_server_dir = Path(server_dir) if server_dir else settings.node_server_dir()
        self.memory = MemorySampler(self._processes)
        self.load_samples: list[float] = []
        self.first_trigger: float | None = None

    def _processes(self) -> list[int]:
        self.load_samples.append(os.getloadavg()[0])
        return [
            *(process.pid for process in self.deployment.processes.values()),
            *node_servers(self.node_server_dir),
        ]

    def start(self, dag_ids: Iterable[str], *, parse_timeout: float = 600) -> None:
        """Start the deployment and its workers, wait until the DAGs are parsed, then start
        sampling memory."""
        self.deployment.start([worker.spawn() for worker in self.pool])
        for dag_id in dag_ids:
            self.deployment.wait_for_dag(dag_id, timeout=parse_timeout)
        self.memory.start()

    def stop(self) -> None:
        if self.memory.is_alive():
            self.memory.stop()
        self.deployment.stop()

    def trigger(self, dag_id: str, conf: Mapping[str, Any] | None = None) -> RunRef:
        body = {"logical_date": None, "conf": dict(conf or {})}
        if self.first_trigger is None:
            self.first_trigger = time.time()
        status, run = self.deployment.request("POST", f"/api/v2/dags/{dag_id}/dagRuns", body)
        if status != 200:
            raise AssertionError(f"trigger of {dag_id} refused: {status} {run}")
        return RunRef(dag_id, str(run["dag_run_id"]))

    def trigger_burst(
        self,
        dag_ids: Sequence[str],
        runs_per_dag: int,
        conf: Callable[[str, int], Mapping[str, Any]] = lambda dag_id, index: {},
    ) -> list[RunRef]:
        """``runs_per_dag`` runs of each DAG, triggered one right after another (round by
        round); ``conf(dag_id, index)`` gives each its run parameters."""
        return [
            self.trigger(dag_id, conf(dag_id, index))
            for index in range(runs_per_dag)
            for dag_id in dag_ids
        ]

    def run(self, ref: RunRef) -> dict[str, Any]:
        _status, run = self.deployment.request(
            "GET", f"/api/v2/dags/{ref.dag_id}/dagRuns/{ref.run_id}"
        )
        return dict(run)

    def wait_finished(self, refs: Sequence[RunRef], *, timeout: float) -> dict[RunRef, Any]:
        """Every run, once all have ended (success or failed)."""
        done: dict[RunRef, Any] = {}

        def all_done() -> bool:
            for ref in refs:
                if ref not in done:
                    run = self.run(ref)
                    if run.get("state") in ("success", "failed"):
                        done[ref] = run
            return len(done) == len(refs)

        wait_for(all_done, timeout=timeout, what=f"{len(refs)} runs to finish", every=2)
        return {ref: done[ref] for ref in refs}

    def running_on(self, names: Iterable[str]) -> list[dict[str, Any]]:
        """Task instances now running on these workers."""
        status, body = self.deployment.request(
            "GET", "/api/v2/dags/~/dagRuns/~/taskInstances?state=running&limit=100"
        )
        if status != 200:
            raise AssertionError(f"task instances: {status} {body}")
        wanted = set(names)
        return [ti for ti in body["task_instances"] if ti.get("hostname") in wanted]

    def kill_worker_mid_run(
        self,
        dag_ids: Iterable[str],
        *,
        task_ids: Collection[str] = LONG_TASKS,
        timeout: float = 600,
    ) -> Kill:
        """SIGKILL the process group of the first default worker seen running the node of a
        task (one of ``task_ids``) of these DAGs, its execution registered in ML Metadata, as
        a crash of its machine would, then restart it under the same name. The tries it was
        running fail on the heartbeat timeout and retry."""
        names = [worker.name for worker in self.pool if worker.name != GPU_WORKER]
        wanted = set(dag_ids)

        def busy() -> str | None:
            for ti in self.running_on(names):
                if ti["dag_id"] in wanted and ti["task_id"] in task_ids and self._in_node(ti):
                    return str(ti["hostname"])
            return None

        victim = wait_for(busy, timeout=timeout, what="a default worker to run a node", every=0.5)
        worker = next(worker for worker in self.pool if worker.name == victim)
        process = self.deployment.processes.pop(self._process_of[worker.name])
        killed_at = time.time()
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        # Still running once the worker is dead: those tries were cut off mid-run.
        tries = [
            (ti["dag_id"], ti["dag_run_id"], ti["task_id"], int(ti["try_number"]))
            for ti in self.running_on([victim])
            if ti["dag_id"] in wanted
        ]
        # The restarted worker answers under the same name (its log is a new file).
        name, args, env = worker.spawn()
        self._process_of[name] = f"{name}-restarted-{len(self.kills) + 1}"
        self.deployment._spawn(self._process_of[name], args, env)
        kill = Kill(worker=victim, at=killed_at, tries=tries)
        self.kills.append(kill)
        return kill

    def _in_node(self, ti: Mapping[str, Any]) -> bool:
        """Whether the task's log says its node's execution runs and has not ended."""
        log = (
            self.deployment.home
            / "airflow"
            / "logs"
            / f"dag_id={ti['dag_id']}"
            / f"run_id={ti['dag_run_id']}"
            / f"task_id={ti['task_id']}"
            / f"attempt={ti['try_number']}.log"
        )
        try:
            text = log.read_text(errors="replace")
        except OSError:
            return False
        return EXECUTING in text and NODE_ENDED.format(task_id=ti["task_id"]) not in text

    def report(self, refs: Sequence[RunRef], runs: Mapping[RunRef, Any]) -> LoadReport:
        """What the load did, from the REST API and ML Metadata; call once every run ended."""
        tasks = {ref: self.deployment.task_instances(ref.dag_id, ref.run_id) for ref in refs}
        trainer_tries = [
            {**attempt, "dag_id": ref.dag_id, "dag_run_id": ref.run_id}
            for ref in refs
            for attempt in self._tries(ref, "Trainer")
        ]
        final = {(ref.dag_id, ref.run_id, ti["task_id"]): ti for ref in refs for ti in tasks[ref]}
        killed = [
            {
                "task": f"{dag_id} {run_id} {task_id}",
                "killed_try": try_number,
                "final_try": final[(dag_id, run_id, task_id)]["try_number"],
                "final_state": final[(dag_id, run_id, task_id)]["state"],
            }
            for kill in self.kills
            for dag_id, run_id, task_id, try_number in kill.tries
        ]
        metadata = {dag_id: self._query("runs", dag_id) for dag_id in {r.dag_id for r in refs}}
        pushed = {dag_id: self._query("pushed-models", dag_id) for dag_id in metadata}
        executions: Counter[str] = Counter(
            state
            for runs_of in metadata.values()
            for nodes in runs_of.values()
            for node in nodes.values()
            for state in node["attempts"]
        )
        pushes: dict[str, list[str]] = {f"{ref.dag_id} {ref.run_id}": [] for ref in refs}
        for dag_id, models in pushed.items():
            for model in models:
                pushes.setdefault(f"{dag_id} {model['run_id']}", []).append(model["destination"])
        ends = [timestamp(run["end_date"]) for run in runs.values() if run.get("end_date")]
        return LoadReport(
            tasks={f"{ref.dag_id} {ref.run_id}": tasks[ref] for ref in refs},
            runs={f"{ref.dag_id} {ref.run_id}": runs[ref]["state"] for ref in refs},
            tries=sum(int(ti["try_number"]) for ti in final.values()),
            task_instances=len(final),
            retried=sorted(
                f"{dag_id} {run_id} {task_id} (try {ti['try_number']})"
                for (dag_id, run_id, task_id), ti in final.items()
                if int(ti["try_number"]) > 1
            ),
            killed=killed,
            trainer_tries=trainer_tries,
            executions=dict(executions),
            unfinished=[
                f"{dag_id} {run_id} {node_id}: {node['attempts']}"
                for dag_id, runs_of in metadata.items()
                for run_id, nodes in runs_of.items()
                for node_id, node in nodes.items()
                if any(state in UNFINISHED for state in node["attempts"])
            ],
            pushes=pushes,
            first_trigger=self.first_trigger or 0.0,
            last_end=max(ends, default=0.0),
            peak_rss=self.memory.peak_rss,
            peak_pss=self.memory.peak_pss,
            peak_processes=self.memory.peak_processes,
            load=sum(self.load_samples) / len(self.load_samples) if self.load_samples else 0.0,
        )

    def _tries(self, ref: RunRef, task_id: str) -> list[dict[str, Any]]:
        status, body = self.deployment.request(
            "GET", f"/api/v2/dags/{ref.dag_id}/dagRuns/{ref.run_id}/taskInstances/{task_id}/tries"
        )
        if status != 200:
            raise AssertionError(f"tries of {task_id}: {status} {body}")
        return list(body["task_instances"])

    def _query(self, query: str, dag_id: str) -> Any:
        env = {**self.deployment.env, "TFX_DAGS_METADATA_URI": self.deployment.databases.mlmd_uri}
        return json.loads(local_airflow.tfx_query(env, query, "--pipeline", dag_id))


@dataclass
class LoadReport:
    """What a load run did. Runs and pushes are keyed ``"<dag_id> <run_id>"``."""

    runs: dict[str, str]
    tasks: dict[str, list[dict[str, Any]]]
    tries: int
    task_instances: int
    retried: list[str]
    killed: list[dict[str, Any]]
    trainer_tries: list[dict[str, Any]]
    executions: dict[str, int]
    unfinished: list[str]
    pushes: dict[str, list[str]]
    first_trigger: float
    last_end: float
    peak_rss: int
    peak_pss: int
    peak_processes: int
    load: float
    notes: list[str] = field(default_factory=list)

    @property
    def succeeded(self) -> int:
        return sum(state == "success" for state in self.runs.values())

    @property
    def wall(self) -> float:
        return self.last_end - self.first_trigger

    def trainer_overlaps(self) -> list[tuple[str, str]]:
        """Pairs of Trainer tries whose [start, end] intervals intersect."""
        spans = sorted(
            (
                timestamp(attempt["start_date"]),
                timestamp(attempt["end_date"]),
                f"{attempt['dag_id']} {attempt['dag_run_id']} try {attempt['try_number']}",
            )
            for attempt in self.trainer_tries
            if attempt.get("start_date") and attempt.get("end_date")
        )
        return [
            (first[2], second[2])
            for index, first in enumerate(spans)
            for second in spans[index + 1 :]
            if second[0] < first[1]
        ]

    def trainer_hosts(self) -> set[str]:
        return {str(attempt.get("hostname")) for attempt in self.trainer_tries}

    def incomplete_pushes(self) -> list[str]:
        """Pushed folders without a SavedModel."""
        return [
            destination
            for destinations in self.pushes.values()
            for destination in destinations
            if not (Path(destination) / "saved_model.pb").is_file()
        ]

    def lines(self) -> list[str]:
        """The report as text, one fact a line."""
        mib = 2**20
        most_pushes = max((len(d) for d in self.pushes.values()), default=0)
        lines = [
            f"runs succeeded: {self.succeeded}/{len(self.runs)}",
            f"task instances: {self.task_instances}, tries: {self.tries}, "
            f"retried: {len(self.retried)}",
            *(f"  retried: {task}" for task in self.retried),
            *(
                f"  killed mid-run: {kill['task']} try {kill['killed_try']} -> final try "
                f"{kill['final_try']} {kill['final_state']}"
                for kill in self.killed
            ),
            f"Trainer tries: {len(self.trainer_tries)} on {sorted(self.trainer_hosts())}, "
            f"overlapping pairs: {len(self.trainer_overlaps())}",
            *(f"  overlap: {a} / {b}" for a, b in self.trainer_overlaps()),
            f"ML Metadata executions by state: {dict(sorted(self.executions.items()))}; "
            f"left NEW or RUNNING: {sum(self.executions.get(s, 0) for s in UNFINISHED)}",
            *(f"  unfinished: {entry}" for entry in self.unfinished),
            f"pushes: {sum(len(d) for d in self.pushes.values())} in "
            f"{sum(bool(d) for d in self.pushes.values())} runs, at most {most_pushes} per run, "
            f"without saved_model.pb: {len(self.incomplete_pushes())}",
            f"wall: {self.wall:.1f} s from the first trigger to the last run's end",
            f"peak memory: RSS sum {self.peak_rss / mib:.0f} MiB, PSS sum "
            f"{self.peak_pss / mib:.0f} MiB, over up to {self.peak_processes} processes",
            f"machine load (1-min average, mean of samples): {self.load:.1f}",
            *self.notes,
        ]
        return lines
