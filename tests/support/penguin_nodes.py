"""The penguin pipeline compiled outside a DAG, and one of its nodes run as a task runs it
(a fresh interpreter or forked by the node server), for tests of a single node."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tfx_dags.airflow.compile_cache import ensure_compiled
from tfx_dags.common import settings
from tfx_dags.common.pipeline_ref import parse_pipeline_ref
from tfx_dags.node_server import client as node_client

PENGUIN = parse_pipeline_ref("modules.penguin.pipeline:create_pipeline")


def compile_penguin(home: Path, dag_id: str, **kwargs: Any) -> Path:
    compiled = ensure_compiled(
        cache_name=dag_id,
        ref=PENGUIN,
        kwargs={
            "pipeline_name": dag_id,
            "pipeline_root": str(home / "pipelines" / dag_id),
            "data_root": str(settings.PROJECT_ROOT / "data" / "penguin"),
            "serving_model_dir": str(home / "serving" / dag_id),
            "trainer_module": "modules.penguin.keras_raw",
            "use_transform": False,
            **kwargs,
        },
    )
    return compiled.ir_path


def run_node(
    home: Path,
    ir_path: Path,
    node_id: str,
    *,
    served: bool = False,
    env: dict[str, str] | None = None,
) -> str:
    """The node's output; ``served``: forked by the node server, as a task does by default;
    ``env``: more of the node's environment."""
    command = [
        str(settings.tfx_python()),
        "-m",
        "tfx_dags.runner.node",
        "--pipeline-ir",
        str(ir_path),
        "--node-id",
        node_id,
        "--run-id",
        "manual__beam",
    ]
    env = {
        **os.environ,
        "TFX_DAGS_HOME": str(home),
        "TFX_DAGS_NODE_SERVER": "on" if served else "off",
        **(env or {}),
    }
    node = node_client.start(command, env=env)
    assert isinstance(node, node_client.ServedProcess) == served
    output = "\n".join(node.output())
    assert node.wait(timeout=600) == 0, output[-3000:]
    return output
