"""The TFX view: what each page waits for to read ML Metadata, node server on and off.

    .venv-airflow/bin/python bench/view_pages.py [--repeat 3]

A fresh home; penguin_keras runs twice (`airflow dags test`, SQLite ML Metadata; the second
run's nodes mostly cache hits). Then every question a page of the view asks is answered by
the view's own `ViewSource`, ``--repeat`` times: forked by a warm node server (the default),
and in a fresh interpreter each time (`TFX_DAGS_NODE_SERVER=off`, the baseline). The view
keeps evaluation answers; a new `ViewSource` per call measures the uncached cost here.
Prints the median seconds per question and the ratio of the two.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT))

DAG_ID = "penguin_keras"


def timed(question: Callable[[], Any], repeat: int) -> float:
    seconds = []
    for _ in range(repeat):
        start = time.perf_counter()
        question()
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="tfx-dags-bench-view-"))
    server_dir = tempfile.mkdtemp(prefix="tfx-dags-bench-srv-")
    # Airflow reads its home when first imported: set everything before importing it.
    from dev import local_airflow

    os.environ.update(local_airflow.environment(home))
    os.environ.update(TFX_DAGS_NODE_SERVER_DIR=server_dir, TFX_DAGS_BEAM_DIRECT_MODE="in_memory")
    from tfx_dags.node_server import client as node_client
    from tfx_dags.ui.source import ViewSource

    try:
        env = dict(os.environ)
        local_airflow.init_db(env, log=home / "logs" / "db-migrate.log")
        for n in (1, 2):
            code = local_airflow.run_dag(env, DAG_ID, log=home / "logs" / f"run{n}.log")
            if code != 0:
                raise SystemExit(f"run {n} of {DAG_ID} failed; see {home / 'logs'}")
        summary = ViewSource().pipeline(DAG_ID)
        run_id = summary["runs"][0]["run_id"]
        evaluation_id = summary["models"][0]["evaluations"][0]["evaluation"]["id"]
        questions = {
            "index (pipelines)": lambda: ViewSource().pipelines(),
            "pipeline page": lambda: ViewSource().pipeline(DAG_ID),
            "run page": lambda: ViewSource().run(DAG_ID, run_id),
            "plot (evaluation)": lambda: ViewSource().evaluation(DAG_ID, evaluation_id),
        }
        print(f"ML Metadata: SQLite, 2 runs of {DAG_ID}; median of {args.repeat} per cell\n")
        print(f"{'question':20} {'node server':>12} {'fresh python':>13} {'ratio':>7}")
        for name, question in questions.items():
            os.environ["TFX_DAGS_NODE_SERVER"] = "on"
            served = timed(question, args.repeat)
            os.environ["TFX_DAGS_NODE_SERVER"] = "off"
            fresh = timed(question, args.repeat)
            print(f"{name:20} {served:11.2f}s {fresh:12.2f}s {served / fresh:6.2f}x")
    finally:
        node_client.stop_servers()
        shutil.rmtree(server_dir, ignore_errors=True)
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
