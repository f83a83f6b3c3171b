"""`make demo`: a fresh SQLite Airflow runs the penguin DAG end to end.

The last line printed is the absolute path of the SavedModel the Pusher pushed.
``python -m dev.demo serve`` (`make view`) then serves that home's Airflow UI, with the
TFX view, on http://127.0.0.1:8080 (TFX_DAGS_VIEW_PORT for another port).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from dev import local_airflow
from tfx_dags.common import settings
from tfx_dags.node_server import client as node_client

DAG_ID = "penguin_keras"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args not in ([], ["serve"]):
        print("usage: python -m dev.demo [serve]", file=sys.stderr)
        return 2
    # The demo's own node server, stopped when it ends (a worker's would stay up for more).
    server_dir = tempfile.mkdtemp(prefix="tfx-dags-demo-")
    os.environ["TFX_DAGS_NODE_SERVER_DIR"] = server_dir
    try:
        return serve() if args else run_demo()
    finally:
        node_client.stop_servers()
        shutil.rmtree(server_dir, ignore_errors=True)


def demo_home() -> Path:
    return settings.PROJECT_ROOT / "var" / "demo"


def serve() -> int:
    """The demo home's Airflow UI and TFX view, until interrupted."""
    home = demo_home()
    if not (home / "airflow" / "airflow.db").exists():
        print(f"No demo in {home}: run `make demo` first", file=sys.stderr)
        return 1
    env = local_airflow.environment(home)
    port = os.environ.get("TFX_DAGS_VIEW_PORT", "8080")
    passwords = home / "airflow" / "simple_auth_manager_passwords.json.generated"
    print(f"Airflow UI: http://127.0.0.1:{port}/ (TFX in the navigation bar)")
    print(f"TFX view:   http://127.0.0.1:{port}/tfx/pipelines/{DAG_ID}")
    print(f"Log in as admin; the password is in {passwords} (written at the first start)")
    command = [str(local_airflow.AIRFLOW_BIN), "api-server", "--host", "127.0.0.1", "--port", port]
    try:
        return subprocess.run(command, env=env).returncode
    except KeyboardInterrupt:
        return 0


def run_demo() -> int:
    home = demo_home()
    shutil.rmtree(home, ignore_errors=True)
    env = local_airflow.environment(home)
    print(f"Fresh Airflow home with SQLite: {home / 'airflow'}", flush=True)
    local_airflow.init_db(env, log=home / "logs" / "db-migrate.log")
    log = home / "logs" / f"{DAG_ID}.log"
    print(f"Running DAG {DAG_ID} (airflow dags test); full log: {log}", flush=True)
    exit_code = local_airflow.run_dag(env, DAG_ID, log=log)
    for run_id, states in local_airflow.task_states(env, DAG_ID).items():
        print(f"DAG run {run_id}:")
        for task_id, state in states.items():
            print(f"  {task_id:32} {state}")
    if exit_code != 0:
        print(f"The DAG run failed; see {log}", file=sys.stderr)
        return 1
    print(local_airflow.tfx_query(env, "latest-pushed-model", "--pipeline", DAG_ID))
    return 0


if __name__ == "__main__":
    sys.exit(main())
