"""A real Airflow deployment on this machine's services, for the scale-out tests.

PostgreSQL holds Airflow's metadata (a fresh database per deployment), MariaDB holds ML
Metadata (a fresh database and user with a password, reached through an Airflow connection),
Redis is the Celery broker. The api-server, scheduler, dag-processor and any Celery workers
run as separate processes, as in production. Under CI (CI=true) a missing service fails the
test; elsewhere it skips it.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from dev import local_airflow
from tfx_dags.common import settings
from tfx_dags.common.locks import folder_lock

AIRFLOW = Path(sys.executable).parent / "airflow"
SERVICES = {"PostgreSQL": 5432, "MariaDB": 3306, "Redis": 6379}
ADMIN_PASSWORD = "admin-" + secrets.token_hex(4)


def require_services(*names: str) -> None:
    """Fail under CI, skip elsewhere, when a service this test needs is not listening."""
    for name in names:
        with socket.socket() as probe:
            probe.settimeout(2)
            if probe.connect_ex(("127.0.0.1", SERVICES[name])) != 0:
                message = f"{name} is not listening on 127.0.0.1:{SERVICES[name]}"
                if os.environ.get("CI") == "true":
                    pytest.fail(f"{message}; CI needs it (see the machine page's start commands)")
                pytest.skip(message)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Databases:
    """A fresh PostgreSQL database for Airflow, a fresh MariaDB database and user for MLMD."""

    name: str = field(default_factory=lambda: "tfxdags_" + secrets.token_hex(4))
    mlmd_password: str = field(default_factory=lambda: "pw-" + secrets.token_hex(12))

    @property
    def airflow_uri(self) -> str:
        return f"postgresql+psycopg2://root@127.0.0.1:5432/{self.name}"

    @property
    def mlmd_uri(self) -> str:
        return f"mysql://{self.name}:{self.mlmd_password}@127.0.0.1:3306/{self.name}"

    def create(self, *, template: str | None = None) -> None:
        _psql(f"CREATE DATABASE {self.name}" + (f" TEMPLATE {template}" if template else ""))
        user = f"'{self.name}'@'localhost', '{self.name}'@'%'"
        _mariadb(
            f"CREATE DATABASE {self.name}; "
            f"CREATE USER '{self.name}'@'localhost' IDENTIFIED BY '{self.mlmd_password}'; "
            f"CREATE USER '{self.name}'@'%' IDENTIFIED BY '{self.mlmd_password}'; "
            f"GRANT ALL ON {self.name}.* TO {user};"
        )

    def drop(self) -> None:
        _psql(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)", check=False)
        _mariadb(
            f"DROP DATABASE IF EXISTS {self.name}; DROP USER IF EXISTS "
            f"'{self.name}'@'localhost', '{self.name}'@'%';",
            check=False,
        )

    def sql(self, query: str) -> list[list[str]]:
        """Rows of a query on Airflow's database, fields as text."""
        result = subprocess.run(
            [
                "psql",
                "-h",
                "127.0.0.1",
                "-U",
                "root",
                "-d",
                self.name,
                "-At",
                "-F",
                "\t",
                "-c",
                query,
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        return [line.split("\t") for line in result.stdout.splitlines() if line]


def _psql(statement: str, *, check: bool = True) -> str:
    return subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "root", "-d", "postgres", "-At", "-c", statement],
        capture_output=True,
        text=True,
        check=check,
    ).stdout


def airflow_template(env: Mapping[str, str], *, log: Path) -> str:
    """A PostgreSQL database migrated and provisioned once per Airflow version and pools
    (kept between sessions), which each deployment's database copies (``TEMPLATE``)."""
    name = "tfxdags_template_" + local_airflow.template_key(env)
    # The tests set the folder (tests/conftest.py); the benchmarks lock a folder of their own.
    locks = env.get("TFX_DAGS_DEV_DB_TEMPLATES") or str(
        Path(tempfile.gettempdir()) / f"tfx-dags-db-templates-{os.getuid()}"
    )
    with folder_lock(Path(locks)):
        if not _psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'").strip():
            building = f"tfxdags_building_{os.getpid()}"
            _psql(f"DROP DATABASE IF EXISTS {building}")
            _psql(f"CREATE DATABASE {building}")
            uri = f"postgresql+psycopg2://root@127.0.0.1:5432/{building}"
            local_airflow.migrate_and_provision(
                {**env, "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": uri}, log=log
            )
            _psql(f"ALTER DATABASE {building} RENAME TO {name}")
            # Nothing may be connected to a template while it is copied; autovacuum leaves
            # alone a database that takes no connections.
            _psql(f"ALTER DATABASE {name} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false")
    return name


def _mariadb(statements: str, *, check: bool = True) -> None:
    subprocess.run(["mariadb", "-uroot", "-e", statements], capture_output=True, check=check)


@dataclass
class Deployment:
    home: Path
    dags_folder: Path
    databases: Databases
    executor: str = "LocalExecutor"
    extra_env: Mapping[str, str] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    _token: str | None = None

    @property
    def env(self) -> dict[str, str]:
        env = local_airflow.environment(self.home, dags_folder=self.dags_folder)
        passwords = self.home / "passwords.json"
        env.update(
            {
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.databases.airflow_uri,
                "AIRFLOW__CORE__EXECUTOR": self.executor,
                "AIRFLOW__CORE__PARALLELISM": "4",
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{self.port}/execution/",
                "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{self.port}",
                "AIRFLOW__API_AUTH__JWT_SECRET": "jwt-" + self.databases.name,
                "AIRFLOW__API__SECRET_KEY": "key-" + self.databases.name,
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
                "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
                "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
                "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
                "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
                # ML Metadata on MariaDB, credentials from an Airflow connection (env-defined).
                "AIRFLOW_CONN_TFX_DAGS_METADATA": self.databases.mlmd_uri,
                "TFX_DAGS_BEAM_DIRECT_MODE": "in_memory",
                **self.extra_env,
            }
        )
        return env

    def start(self, workers: Sequence[tuple[str, Sequence[str], Mapping[str, str]]] = ()) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        (self.home / "passwords.json").write_text(json.dumps({"admin": ADMIN_PASSWORD}))
        (self.home / "logs").mkdir(exist_ok=True)
        env = self.env
        self.databases.create(
            template=airflow_template(env, log=self.home / "logs" / "db-migrate.log")
        )
        subprocess.run(
            [str(settings.tfx_python()), "-m", "tfx_dags.mlmd.connection", "init"],
            env={**env, "TFX_DAGS_METADATA_URI": self.databases.mlmd_uri},
            check=True,
            capture_output=True,
        )
        self._spawn(
            "api-server",
            ["api-server", "--host", "127.0.0.1", "--port", str(self.port), "--workers", "1"],
        )
        self._spawn("dag-processor", ["dag-processor"])
        self._spawn("scheduler", ["scheduler"])
        for name, args, extra in workers:
            self._spawn(name, args, extra)
        wait_for(lambda: self._healthy(), timeout=120, what="the api-server")

    def _spawn(self, name: str, args: Sequence[str], extra: Mapping[str, str] = {}) -> None:
        log = (self.home / "logs" / f"{name}.log").open("w")
        self.processes[name] = subprocess.Popen(
            [str(AIRFLOW), *args],
            env={**self.env, **extra},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def stop(self) -> None:
        for process in self.processes.values():
            _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + 30
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            _signal_group(process, signal.SIGKILL)
        self.databases.drop()

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(
                f"http://127.0.0.1:{self.port}/api/v2/monitor/health", timeout=5
            ) as response:
                return response.status == 200
        except OSError:
            return False

    def token(self) -> str:
        if self._token is None:
            status, body = self.request(
                "POST", "/auth/token", {"username": "admin", "password": ADMIN_PASSWORD}, auth=False
            )
            assert status in (200, 201), body
            self._token = body["access_token"]
        return self._token

    def request(
        self, method: str, path: str, body: Any = None, *, auth: bool = True
    ) -> tuple[int, Any]:
        headers = {"Content-Type": "application/json"}
        if auth:
            headers["Authorization"] = f"Bearer {self.token()}"
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}", data=data, headers=headers, method=method
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def wait_for_dag(self, dag_id: str, timeout: float = 300) -> None:
        wait_for(
            lambda: self.request("GET", f"/api/v2/dags/{dag_id}")[0] == 200,
            timeout=timeout,
            what=f"DAG {dag_id} to be parsed",
        )

    def wait_for_runs(
        self, dag_id: str, count: int = 1, timeout: float = 900
    ) -> list[dict[str, Any]]:
        """The DAG's runs, once ``count`` of them have finished (success or failed)."""

        def finished() -> list[dict[str, Any]] | None:
            status, body = self.request("GET", f"/api/v2/dags/{dag_id}/dagRuns")
            runs = body.get("dag_runs", []) if status == 200 else []
            done = [run for run in runs if run["state"] in ("success", "failed")]
            return runs if len(done) >= count else None

        return wait_for(finished, timeout=timeout, what=f"{count} finished runs of {dag_id}")

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        status, body = self.request("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances")
        assert status == 200, body
        return list(body["task_instances"])

    def logs_text(self) -> str:
        """Every log this deployment wrote: services' output and every task log."""
        return "\n".join(
            path.read_text(errors="replace")
            for path in sorted(self.home.rglob("*.log"))
            if path.is_file()
        )


def _signal_group(process: subprocess.Popen[bytes], signum: int) -> None:
    try:
        os.killpg(process.pid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def wait_for(check: Callable[[], Any], *, timeout: float, what: str, every: float = 3) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


# The pipeline file of the fault tests: penguin, its Trainer held while the test holds it.
HELD_PENGUIN = (
    Path(__file__).resolve().parents[1] / "integration" / "held_training" / "held_penguin.py"
)


@dataclass
class TrainerHolds:
    """Trainers of HELD_PENGUIN that hold at the start of training while the test holds
    them (a file per step count in ``folder``): a fault hits a Trainer mid-training when
    the test chooses, and its retry, released, trains a few steps instead of thousands."""

    folder: Path

    def __post_init__(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)

    @property
    def env(self) -> dict[str, str]:
        """For the deployment: where the Trainers look for their holds."""
        return {"TFX_DAGS_TEST_TRAINER_HOLDS": str(self.folder)}

    def hold(self, steps: int) -> None:
        (self.folder / str(steps)).touch()

    def release(self, steps: int) -> None:
        (self.folder / str(steps)).unlink(missing_ok=True)


def first_attempt_log(airflow_home: Path, dag_id: str, run_id: str, task_id: str) -> Path:
    """Airflow's log of a task's first attempt under ``airflow_home``."""
    run = airflow_home / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}"
    return run / f"task_id={task_id}" / "attempt=1.log"


def first_attempt_log_once(
    airflow_home: Path, dag_id: str, run_id: str, task_id: str, *, marker: str, what: str
) -> str:
    """The text of a task's first-attempt log once ``marker`` is in it."""
    log = first_attempt_log(airflow_home, dag_id, run_id, task_id)
    wait_for(
        lambda: log.is_file() and marker in log.read_text(errors="replace"),
        timeout=600,
        what=what,
        every=0.5,
    )
    return log.read_text(errors="replace")


def trainer_log_once_training(airflow_home: Path, dag_id: str, run_id: str, *, where: str) -> str:
    """The log of the Trainer's first attempt once it is held inside the user's training
    code (TrainerHolds)."""
    return first_attempt_log_once(
        airflow_home,
        dag_id,
        run_id,
        "Trainer",
        marker="held_trainer: holding",
        what=f"the Trainer to start training{where}",
    )


def copy_dags(folder: Path, *files: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for path in files:
        shutil.copy(path, folder / path.name)
    return folder
