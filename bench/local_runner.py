"""The penguin_keras pipeline run by TFX's LocalDagRunner: the end-to-end baseline.

    python bench/local_runner.py --home DIR   (with .venv-tfx's python)

Same pipeline definition and arguments as the penguin_keras DAG, its own pipeline root and
ML Metadata under DIR. Prints the wall seconds of LocalDagRunner.run as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", required=True, type=Path)
    args = parser.parse_args()
    os.environ["TFX_DAGS_HOME"] = str(args.home)
    start = time.perf_counter()
    from tfx.orchestration.local.local_dag_runner import LocalDagRunner
    from tfx.orchestration.metadata import sqlite_metadata_connection_config

    from modules.penguin.pipeline import create_pipeline

    pipeline = create_pipeline(
        pipeline_name="penguin_keras",
        pipeline_root=str(args.home / "pipelines" / "penguin_keras"),
        data_root=str(PROJECT_ROOT / "data" / "penguin"),
        serving_model_dir=str(args.home / "serving" / "penguin_keras"),
        distribution_strategy="mirrored",
        cpu_replicas=2,
    )
    pipeline.metadata_connection_config = sqlite_metadata_connection_config(
        str(args.home / "metadata.sqlite")
    )
    LocalDagRunner().run(pipeline)
    print(json.dumps({"wall_s": time.perf_counter() - start}))


if __name__ == "__main__":
    main()
