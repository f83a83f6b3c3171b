"""The penguin pipeline run by TFX's LocalDagRunner: the end-to-end baseline.

    python bench/local_runner.py --home DIR --name NAME --kwargs JSON

Run with a TFX environment's interpreter and its declared variables (bench/end_to_end.py
runs it on each line: tfx116 with TF_USE_LEGACY_KERAS=1, tfx115).

The same pipeline definition and arguments as the Airflow DAG, its own pipeline root under
DIR, ML Metadata from the tfx_dags settings (TFX_DAGS_METADATA_URI or SQLite). Prints JSON:
the wall seconds of the whole run (interpreter start excluded, imports included) and, per
node, the seconds of its launch and of its executor, timed like the node runner times them.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    start = time.perf_counter()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", required=True, type=Path)
    parser.add_argument("--name", required=True)
    parser.add_argument("--kwargs", required=True, type=json.loads)
    args = parser.parse_args()
    os.environ["TFX_DAGS_HOME"] = str(args.home)
    from tfx.orchestration.local.local_dag_runner import LocalDagRunner

    from modules.penguin.pipeline import create_pipeline
    from tfx_dags.mlmd.connection import connection_config
    from tfx_dags.runner.timing import record_launches

    pipeline = create_pipeline(
        pipeline_name=args.name,
        pipeline_root=str(args.home / "pipelines" / args.name),
        serving_model_dir=str(args.home / "serving" / args.name),
        **args.kwargs,
    )
    pipeline.metadata_connection_config = connection_config()
    timings = record_launches()
    LocalDagRunner().run(pipeline)
    print(json.dumps({"wall_s": time.perf_counter() - start, "nodes": timings}))


if __name__ == "__main__":
    main()
