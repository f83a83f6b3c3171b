"""A self-contained local Airflow: one home folder with SQLite, for the demo and the tests.

Everything lives under one folder: Airflow's home and metadata DB, and tfx_dags' home
(pipeline roots, ML Metadata, pushed models). Delete the folder and nothing is left behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from tfx_dags.airflow import mlmd_query
from tfx_dags.common import settings
from tfx_dags.common.locks import folder_lock

AIRFLOW_BIN = Path(sys.executable).parent / "airflow"


def environment(home: Path, *, dags_folder: Path | None = None) -> dict[str, str]:
    """Environment for Airflow commands and the node processes they start, rooted at home."""
    airflow_home = home / "airflow"
    # A cold parse compiles the pipeline in the TFX environment: give it the compile's bound.
    parse_timeout = int(settings.compile_timeout_s()) + 60
    return {
        **os.environ,
        "TFX_DAGS_HOME": str(home),
        "AIRFLOW_HOME": str(airflow_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder or settings.PROJECT_ROOT / "dags"),
        # The TFX view (plugins/tfx_view.py): the api-server mounts it at /tfx.
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(settings.PROJECT_ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{airflow_home / 'airflow.db'}",
        "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": str(parse_timeout),
        "AIRFLOW__DAG_PROCESSOR__DAG_FILE_PROCESSOR_TIMEOUT": str(parse_timeout + 30),
        "PYTHONWARNINGS": "ignore",
    }


def airflow(
    env: Mapping[str, str], *args: str, log: Path | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run an ``airflow`` CLI command; with ``log``, its output goes to that file instead."""
    command = [str(AIRFLOW_BIN), *args]
    if log is None:
        return subprocess.run(command, env=dict(env), capture_output=True, text=True, check=check)
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as handle:
        result = subprocess.run(
            command, env=dict(env), stdout=handle, stderr=subprocess.STDOUT, text=True
        )
    if check and result.returncode != 0:
        raise subprocess.CalledProcessError(result.returncode, command, f"see {log}")
    return result


def init_db(env: Mapping[str, str], *, log: Path) -> None:
    """Create or upgrade Airflow's database and provision the project's pools in it.

    With ``TFX_DAGS_DEV_DB_TEMPLATES`` set (the tests set it), a new SQLite database is a
    copy of one migrated and provisioned once into that folder, per Airflow version and
    pools: a migration costs seconds of CPU, a copy milliseconds.
    """
    templates = env.get("TFX_DAGS_DEV_DB_TEMPLATES")
    database = sqlite_file(env)
    if templates and database is not None and not database.exists():
        template = sqlite_template(env, Path(templates), log=log)
        database.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(template, database)
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(f"{database}: a copy of {template}, migrated and provisioned\n")
        return
    migrate_and_provision(env, log=log)


def migrate_and_provision(env: Mapping[str, str], *, log: Path) -> None:
    from tfx_dags.airflow import pools

    airflow(env, "db", "migrate", log=log)
    pools.provision(env)


def sqlite_file(env: Mapping[str, str]) -> Path | None:
    """The file of the environment's SQLite database; None for another database."""
    uri = env.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "")
    return Path(uri.removeprefix("sqlite:///")) if uri.startswith("sqlite:////") else None


def template_key(env: Mapping[str, str]) -> str:
    """What a migrated, provisioned database depends on: the versions of Airflow and of its
    providers (some bring tables of their own) and the pools."""
    from importlib.metadata import distributions

    pools_file = Path(env.get("TFX_DAGS_POOLS_FILE") or settings.pools_file())
    installed = sorted(
        f"{dist.metadata['Name']}=={dist.version}"
        for dist in distributions()
        if (dist.metadata["Name"] or "").lower().startswith("apache-airflow")
    )
    digest = hashlib.sha256("\n".join(installed).encode())
    digest.update(pools_file.read_bytes())
    digest.update(env.get("TFX_DAGS_GPU_POOL_SLOTS", "").encode())
    return digest.hexdigest()[:16]


def sqlite_template(env: Mapping[str, str], folder: Path, *, log: Path) -> Path:
    """The migrated, provisioned SQLite database to copy, made once (one process at a time)."""
    template = folder / f"airflow-{template_key(env)}.db"
    with folder_lock(folder):
        if not template.exists():
            partial = folder / f".{template.name}.{os.getpid()}"
            partial.unlink(missing_ok=True)
            uri = f"sqlite:///{partial}"
            migrate_and_provision({**env, "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": uri}, log=log)
            partial.rename(template)
    return template


def task_states(env: Mapping[str, str], dag_id: str) -> dict[str, dict[str, str]]:
    """{run_id: {task_id: state}} for every run of the DAG, newest run first."""
    runs = json.loads(airflow(env, "dags", "list-runs", dag_id, "-o", "json").stdout or "[]")
    states = {}
    for run in runs:
        rows = json.loads(
            airflow(env, "tasks", "states-for-dag-run", dag_id, run["run_id"], "-o", "json").stdout
        )
        states[run["run_id"]] = {row["task_id"]: row["state"] for row in rows}
    return states


def tfx_query(env: Mapping[str, str], *args: str, tfx_env: str | None = None) -> str:
    """``tfx_dags.queries.query``'s answer, asked in the TFX environment ``tfx_env`` (default:
    the default one) with this local Airflow's environment, which says where its store is."""
    answer = mlmd_query.ask(
        "tfx_dags.queries.query", *args, tfx_env=tfx_env, environ=env, connection=False
    )
    return answer if isinstance(answer, str) else json.dumps(answer, indent=2)


def run_dag(env: Mapping[str, str], dag_id: str, *, log: Path, conf: Sequence[str] = ()) -> int:
    """One real DAG run in this process's Airflow (``airflow dags test``); its exit code."""
    return airflow(env, "dags", "test", dag_id, *conf, log=log, check=False).returncode
