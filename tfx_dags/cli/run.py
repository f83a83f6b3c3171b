"""``tfx-dags run DAG_ID``: one local run of a DAG in this Airflow (``airflow dags test``),
each task's state, and the model its Pusher pushed. Run parameters are checked against the
DAG's Params before anything runs."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tfx_dags.cli.dag_folder import CliError, ParsedFolder
from tfx_dags.cli.inspect import compiled_entry, dag_tfx_env, query_metadata
from tfx_dags.common import settings
from tfx_dags.common.manifest import ir_path


def checked_conf(dag: Any, conf_json: str | None) -> dict[str, Any]:
    """The run's conf, validated against the DAG's Params as the trigger would be."""
    from airflow.exceptions import ParamValidationError

    try:
        conf = json.loads(conf_json) if conf_json else {}
    except ValueError as error:
        raise CliError(f"--conf is not JSON: {error}") from None
    if not isinstance(conf, dict):
        raise CliError(f"--conf must be a JSON object, not {type(conf).__name__}")
    unknown = sorted(set(conf) - set(dag.params))
    if unknown:
        raise CliError(f"--conf names {unknown}, not Params of {dag.dag_id} ({sorted(dag.params)})")
    params = copy.deepcopy(dag.params)
    try:
        for name, value in conf.items():
            params[name] = value  # validated against the Param's schema on assignment
        params.validate()
    except ParamValidationError as error:
        # jsonschema's message, without the schema it prints after it.
        raise CliError(f"--conf: {str(error).splitlines()[0]}") from None
    return conf


def run_dag(folder: ParsedFolder, dag_id: str, conf_json: str | None) -> dict[str, Any]:
    dag = folder.dag(dag_id)
    conf = checked_conf(dag, conf_json)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    log = settings.home() / "logs" / "tfx-dags-run" / f"{dag_id}-{stamp}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    print(f"Running DAG {dag_id} (airflow dags test); full log: {log}", flush=True)
    airflow = Path(sys.executable).parent / "airflow"
    # The very file checked above, whatever bundles Airflow is configured with.
    command = [str(airflow), "dags", "test", dag_id, "--dagfile-path", str(dag.fileloc)]
    if conf:
        command += ["--conf", json.dumps(conf)]
    env = dict(os.environ)
    for name in [name for name in env if name.startswith("TFX_DAGS_CLI_SET_")]:
        env.pop(name.removeprefix("TFX_DAGS_CLI_SET_"), None)
    before = newest_run_id(dag_id)
    with log.open("w") as handle:
        returncode = subprocess.run(
            command, stdout=handle, stderr=subprocess.STDOUT, env=env
        ).returncode
    run = latest_run(dag_id, after=before)
    pushed = None
    if run is not None:
        try:
            ir = str(ir_path(compiled_entry(dag)))
            pushes = query_metadata(
                "pushed-models", "--pipeline", dag_id, "--pipeline-ir", ir, tfx_env=dag_tfx_env(dag)
            )
        except CliError as error:
            print(f"tfx-dags run: the pushed model is unknown: {error}", file=sys.stderr)
            pushes = []
        # The query's answer (tfx_dags.mlmd.artifacts.pushes), narrowed to this run.
        mine = [push["destination"] for push in pushes if push["run_id"] == run["run_id"]]
        pushed = mine[-1] if mine else None
    return {
        "dag_id": dag_id,
        "run_id": run["run_id"] if run else None,
        "state": run["state"] if run else "not started",
        "tasks": run["tasks"] if run else [],
        "pushed_model": pushed,
        "log": str(log),
        "succeeded": returncode == 0 and run is not None and run["state"] == "success",
    }


def newest_run_id(dag_id: str) -> int:
    """The database id of the DAG's newest run (0 for none)."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import func, select

    with create_session() as session:
        return int(session.scalar(select(func.max(DagRun.id)).where(DagRun.dag_id == dag_id)) or 0)


def latest_run(dag_id: str, *, after: int) -> dict[str, Any] | None:
    """The DAG's test run started after the run of id ``after`` (a run the scheduler makes
    meanwhile is not it), with each task's state, from Airflow's database."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from airflow.utils.types import DagRunTriggeredByType
    from sqlalchemy import select

    with create_session() as session:
        run = session.scalar(
            select(DagRun)
            .where(DagRun.dag_id == dag_id, DagRun.id > after)
            .where(DagRun.triggered_by == DagRunTriggeredByType.TEST)
            .order_by(DagRun.id.desc())
            .limit(1)
        )
        if run is None:
            return None
        tasks = [
            {"task_id": ti.task_id, "state": str(ti.state) if ti.state else "none"}
            for ti in sorted(run.get_task_instances(session=session), key=_started)
        ]
        return {"run_id": run.run_id, "state": str(run.state), "tasks": tasks}


def _started(ti: Any) -> tuple[bool, Any, str]:
    return (ti.start_date is None, ti.start_date, ti.task_id)
