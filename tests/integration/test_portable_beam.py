"""Beam through its portability framework: a job service and a worker pool of their own.

As on a Flink or Spark cluster, the Beam-backed nodes (CsvExampleGen, StatisticsGen,
Transform, Evaluator) submit their pipelines to a job service (Beam's Python one,
``local_job_service_main``) whose SDK workers come from a worker pool service
(``worker_pool_main``) that starts ``tfx-dags-sdk-boot`` for each worker. Both run as their
own processes, in their own working directories, not children of Airflow. The pool runs a
worker environment like an SDK image: the TFX environment's packages and the tfx_dags
library, but not this repository's ``modules``: the user's code must arrive staged.

Each TFX line has its own job service and worker pool (an SDK must match its workers' Beam):
run 1 of the penguin DAG (dotted-path user code), on TFX 1.16 (tfx116, Beam 2.72), must
train, bless and push; TFX's native Keras taxi example (``module_file=``) runs its Transform
on TFX 1.15's (tfx115, Beam 2.56). Then tfx116's job service stops and run 2
(more Trainer steps: the Evaluator must run again) must fail the Evaluator with a message
that names the service, retry it, push nothing and leave run 1's model as it was.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dev import local_airflow
from tests.support.deployment import free_port
from tests.support.penguin_nodes import run_node
from tests.support.shared_runs import write_slice
from tfx_dags.airflow.compile_cache import ensure_compiled
from tfx_dags.authoring.beam_args import portable_args
from tfx_dags.common import settings, tfx_envs
from tfx_dags.common.pipeline_ref import parse_pipeline_ref

DAG_ID = "penguin_portable"
BEAM_NODES = ("CsvExampleGen", "StatisticsGen", "Transform", "Evaluator")
TAXI = Path(__file__).resolve().parents[1] / "tfx_examples" / "chicago_taxi_pipeline"
# Rows of the taxi data its Transform runs on here (the example's own: 15000).
TAXI_SLICE_ROWS = 1000
DAG_FILE = '''
"""Airflow DAG: the penguin pipeline with its Beam-backed nodes on a portable Beam runner."""
from datetime import timedelta
from tfx_dags import RunParam, pipeline_dag, settings
from tfx_dags.authoring.beam_args import portable_args

dag = pipeline_dag(
    dag_id={dag_id!r},
    pipeline="modules.penguin.pipeline:create_pipeline",
    pipeline_kwargs={{
        "data_root": {data!r},
        "serving_model_dir": str(settings.serving_dir({dag_id!r})),
        "train_steps": 100,
        "min_accuracy": 0.6,
    }},
    run_params={{"train_steps": RunParam(minimum=1, maximum=1000)}},
    beam_args=portable_args(job_endpoint={job!r}, environment_config={pool!r}),
    tfx_env="tfx116",
    owner="ml-platform",
    retries=1,
    retry_delay=timedelta(seconds=0),
)
'''


def wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"exited with {process.returncode}: {log.read_text()[-2000:]}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.5)
    raise AssertionError(f"nothing listens on {port} after 90 s: {log.read_text()[-2000:]}")


def worker_environment(folder: Path, tfx_python: Path) -> Path:
    """A Python like an SDK worker image: the TFX environment's packages and the tfx_dags
    library, without the project's editable install (which would bring ``modules``)."""
    code = "import sys, sysconfig; print(sys.base_prefix, sysconfig.get_paths()['purelib'])"
    answer = subprocess.run([str(tfx_python), "-c", code], capture_output=True, text=True)
    base, tfx_site = answer.stdout.split()
    subprocess.run(
        [f"{base}/bin/python3", "-m", "venv", "--without-pip", str(folder / "venv")], check=True
    )
    library = folder / "library"
    library.mkdir()
    (library / "tfx_dags").symlink_to(settings.PROJECT_ROOT / "tfx_dags")
    site = next((folder / "venv" / "lib").glob("python3*/site-packages"))
    (site / "tfx_environment.pth").write_text(f"{tfx_site}\n{library}\n")
    boot = folder / "tfx-dags-sdk-boot"
    boot.write_text(f'#!/bin/sh\nexec {folder}/venv/bin/python -m tfx_dags.worker_pool.boot "$@"\n')
    boot.chmod(0o755)
    return boot


def start(
    name: str, command: list[str], cwd: Path, variables: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    cwd.mkdir(parents=True, exist_ok=True)
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    env.update(variables or {})
    with (cwd / f"{name}.log").open("wb") as log:
        return subprocess.Popen(
            command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )


def stop(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(process.pid, signal.SIGKILL)


class BeamServices:
    """A job service and a worker pool of one TFX environment's Beam, in folders of their own."""

    def __init__(self, scratch: Path, line: str) -> None:
        env = tfx_envs.resolve(line)
        self.pool_dir = scratch / f"worker-pool-{line}"
        self.worker = worker_environment(scratch / f"worker-image-{line}", env.python)
        self.job_port, self.pool_port = free_port(), free_port()
        job_dir = scratch / f"job-service-{line}"
        self.job_service = start(
            "job-service",
            [
                str(env.python),
                "-m",
                "apache_beam.runners.portability.local_job_service_main",
                f"--port={self.job_port}",
            ],
            job_dir,
            dict(env.variables),
        )
        self.pool = start(
            "worker-pool",
            [
                str(self.worker.parent / "venv" / "bin" / "python"),
                "-m",
                "apache_beam.runners.worker.worker_pool_main",
                f"--service_port={self.pool_port}",
                f"--container_executable={self.worker}",
            ],
            self.pool_dir,
            dict(env.variables),
        )
        wait_for_port(self.job_port, self.job_service, job_dir / "job-service.log")
        wait_for_port(self.pool_port, self.pool, self.pool_dir / "worker-pool.log")

    def boot_lines(self) -> list[str]:
        return [
            line
            for path in sorted((self.pool_dir / "sdk-workers").glob("*.log"))
            for line in path.read_text(errors="replace").splitlines()
            if line.startswith("tfx_dags boot: ")
        ]

    def close(self) -> None:
        stop(self.pool)
        if self.job_service.poll() is None:
            stop(self.job_service)


class PortableRuns:
    def __init__(self, scratch: Path) -> None:
        self.scratch = scratch
        # The DAG's line, and the line of the module-file Transform.
        self.tfx116 = BeamServices(scratch, "tfx116")
        self.tfx115 = BeamServices(scratch, "tfx115")
        self.pool_dir, self.worker = self.tfx116.pool_dir, self.tfx116.worker
        self.job_service = self.tfx116.job_service
        job_port, pool_port = self.tfx116.job_port, self.tfx116.pool_port
        self.home = scratch / "home"
        dags = scratch / "dags"
        dags.mkdir()
        (dags / f"{DAG_ID}.py").write_text(
            DAG_FILE.format(
                dag_id=DAG_ID,
                data=str(settings.PROJECT_ROOT / "data" / "penguin"),
                job=f"localhost:{job_port}",
                pool=f"localhost:{pool_port}",
            )
        )
        self.env = local_airflow.environment(self.home, dags_folder=dags)
        # No mode from the deployment: the args of the DAG decide.
        self.env.pop("TFX_DAGS_BEAM_DIRECT_MODE", None)
        local_airflow.init_db(self.env, log=self.home / "logs" / "db-migrate.log")
        self.exit_codes = [self.run(1)]
        self.pushed_after_run1 = self.pushed()
        services = portable_args(
            job_endpoint=f"localhost:{self.tfx115.job_port}",
            environment_config=f"localhost:{self.tfx115.pool_port}",
        )
        self.transform_log = self.module_file_transform(scratch / "taxi", services)
        stop(self.job_service)
        self.exit_codes.append(self.run(2, conf=['{"train_steps": 120}']))
        self.logs = [(self.home / "logs" / f"run{n}.log").read_text() for n in (1, 2)]
        states = local_airflow.task_states(self.env, DAG_ID)
        self.run_ids = sorted(states)
        self.states = [states[run_id] for run_id in self.run_ids]

    def module_file_transform(self, home: Path, beam_args: list[str]) -> str:
        """TFX's native Keras taxi example (``module_file=``) through its Transform, its Beam
        nodes on the job service, on a slice of its data; Transform's output."""
        data = home / "data"
        write_slice(TAXI / "data" / "simple" / "data.csv", data / "data.csv", TAXI_SLICE_ROWS)
        compiled = ensure_compiled(
            cache_name="portable_taxi",
            ref=parse_pipeline_ref(f"{TAXI}/taxi_pipeline_native_keras.py:_create_pipeline"),
            kwargs={
                "pipeline_name": "portable_taxi",
                "pipeline_root": str(home / "pipelines" / "portable_taxi"),
                "data_root": str(data),
                "module_file": str(TAXI / "taxi_utils_native_keras.py"),
                "serving_model_dir": str(home / "serving"),
                "metadata_path": str(home / "metadata.sqlite"),
                "beam_pipeline_args": [],
            },
        )
        env = {"TFX_DAGS_BEAM_ARGS": json.dumps(beam_args)}
        for node in ("CsvExampleGen", "StatisticsGen", "SchemaGen"):
            run_node(home, compiled.ir_path, node, served=True, env=env)
        return run_node(home, compiled.ir_path, "Transform", served=True, env=env)

    def run(self, number: int, conf: list[str] | None = None) -> int:
        log = self.home / "logs" / f"run{number}.log"
        if conf:
            return local_airflow.run_dag(self.env, DAG_ID, log=log, conf=["--conf", *conf])
        return local_airflow.run_dag(self.env, DAG_ID, log=log)

    def pushed(self) -> list[dict[str, Any]]:
        return list(
            json.loads(local_airflow.tfx_query(self.env, "pushed-models", "--pipeline", DAG_ID))
        )

    def boot_lines(self) -> list[str]:
        """The boot lines of the DAG's (tfx116) workers."""
        return self.tfx116.boot_lines()

    def close(self) -> None:
        self.tfx116.close()
        self.tfx115.close()


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PortableRuns]:
    runs = PortableRuns(tmp_path_factory.mktemp("portable-beam"))
    try:
        yield runs
    finally:
        runs.close()


def test_the_worker_image_has_no_user_code_of_its_own(runs: PortableRuns) -> None:
    python = runs.worker.parent / "venv" / "bin" / "python"
    probe = "import tfx_dags, apache_beam, tensorflow_transform; import modules"
    result = subprocess.run([str(python), "-c", probe], cwd=runs.pool_dir, capture_output=True)
    assert b"No module named 'modules'" in result.stderr, result.stderr[-2000:]


def test_the_penguin_run_trains_blesses_and_pushes_through_the_job_service(
    runs: PortableRuns,
) -> None:
    assert runs.exit_codes[0] == 0, runs.logs[0][-3000:]
    assert set(runs.states[0].values()) == {"success"}, runs.states[0]
    runs_metadata = json.loads(local_airflow.tfx_query(runs.env, "runs", "--pipeline", DAG_ID))
    evaluator = runs_metadata[runs.run_ids[0]]["Evaluator"]
    assert (Path(evaluator["outputs"]["blessing"][0]["uri"]) / "BLESSED").exists()
    [push] = runs.pushed_after_run1
    assert push["run_id"] == runs.run_ids[0]
    assert (Path(push["destination"]) / "saved_model.pb").is_file()
    for node in BEAM_NODES:
        assert f"tfx_dags: {node}: Runner PortableRunner (EXTERNAL workers)" in runs.logs[0]
    # The DAG's nodes ran in TFX 1.16, and so did the workers of its Beam pipelines.
    assert f"Running command: ['{tfx_envs.resolve('tfx116').python}', '-m'" in runs.logs[0]


def test_every_beam_node_ran_in_the_worker_pools_processes(runs: PortableRuns) -> None:
    run_name = re.sub(r"[^a-z0-9]+", "-", runs.run_ids[0].lower())
    lines = runs.boot_lines()
    for node in BEAM_NODES:
        job = f"{node.lower()}-{run_name}"[:63].rstrip("-")
        assert any(f"of job {job}:" in line for line in lines), (node, lines)
    own_pids = {os.getpid(), runs.job_service.pid}
    pids = {int(re.search(r"\(pid (\d+)\)", line)[1]) for line in lines}  # type: ignore[index]
    assert pids and not pids & own_pids


def test_the_users_dotted_path_code_reached_the_workers_staged(runs: PortableRuns) -> None:
    run_name = re.sub(r"[^a-z0-9]+", "-", runs.run_ids[0].lower())
    [transform] = [line for line in runs.boot_lines() if f"of job transform-{run_name}" in line]
    wheel = re.search(r"'(tfx_dags_user_modules-[^']+\.whl)'", transform)
    assert wheel, transform
    assert str(runs.pool_dir / "staged-code") in transform  # installed in the pool's folder
    assert f"staged with the job: ['{wheel[1]}']" in runs.logs[0]
    installed = list((runs.pool_dir / "staged-code").glob("*/modules/penguin/preprocessing.py"))
    assert installed, "the user's preprocessing module is not in the pool's staged code"


def test_a_module_file_reaches_the_workers_as_the_wheel_tfx_built(runs: PortableRuns) -> None:
    assert "tfx_dags: node Transform finished" in runs.transform_log
    [transform] = [
        line for line in runs.tfx115.boot_lines() if "of job transform-manual-beam" in line
    ]
    wheel = re.search(r"'(tfx_user_code_transform-[^']+\.whl)'", transform, re.IGNORECASE)
    assert wheel, transform  # staged with the job ...
    assert str(runs.tfx115.pool_dir / "staged-code") in transform  # ... and installed in the pool


def test_a_job_service_that_is_down_fails_the_node_with_a_retry_and_loses_nothing(
    runs: PortableRuns,
) -> None:
    assert runs.exit_codes[1] != 0
    states = runs.states[1]
    assert states["Trainer"] == "success"
    assert states["Evaluator"] == "failed"
    assert states["Pusher"] in ("upstream_failed", "skipped"), states
    # The node's own error line, once per attempt: the first try and its retry.
    marker = "tfx_dags node error: Evaluator: BeamServiceUnavailable: Beam job service at"
    assert runs.logs[1].count(marker) == 2, runs.logs[1][-3000:]
    assert "does not answer" in runs.logs[1]
    # Nothing pushed; run 1's model is as it was.
    assert runs.pushed() == runs.pushed_after_run1
    assert (Path(runs.pushed_after_run1[0]["destination"]) / "saved_model.pb").is_file()
