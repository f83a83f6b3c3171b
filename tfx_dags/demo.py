"""`make demo`: a fresh SQLite Airflow runs the penguin DAG end to end.

The last line printed is the absolute path of the SavedModel the Pusher pushed.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile

from tfx_dags import local_airflow, node_process, settings

DAG_ID = "penguin_keras"


def main() -> int:
    # The demo's own node server, stopped when it ends (a worker's would stay up for more).
    server_dir = tempfile.mkdtemp(prefix="tfx-dags-demo-")
    os.environ["TFX_DAGS_NODE_SERVER_DIR"] = server_dir
    try:
        return run_demo()
    finally:
        node_process.stop_servers()
        shutil.rmtree(server_dir, ignore_errors=True)


def run_demo() -> int:
    home = settings.PROJECT_ROOT / "var" / "demo"
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
