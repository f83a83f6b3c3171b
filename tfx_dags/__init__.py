"""tfx-dags: run TFX pipelines as scheduled Apache Airflow 3 DAGs.

The folders are the architecture (docs/architecture.md):

- ``airflow/``: the factory, the operator, the compile cache, run parameters, pools (the
  Airflow environment: DAG processor, scheduler, workers);
- ``compiler/``: the compile process; ``runner/``: the node process; ``tfx_process/``: what
  both use; ``queries/``: the ML Metadata commands; ``server/``: the warm node server that
  forks them (all in the TFX environment);
- ``mlmd/``: every ML Metadata read (TFX environment);
- ``node_server/``: the node server's client and its wire protocol (both environments);
- ``authoring/``: helpers users' pipeline and trainer modules import (TFX environment);
- ``common/``: what both environments import (settings, errors, the pipeline graph);
- ``ui/``: the TFX view of the Airflow UI.

The names DAG files use are here too, imported on first use so that the TFX environment
(which has no Airflow) can import the package::

    from tfx_dags import RunParam, pipeline_dag, settings
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_PUBLIC = {
    "pipeline_dag": "tfx_dags.airflow.factory",
    "runner_file_dag": "tfx_dags.airflow.factory",
    "pushed_model_asset": "tfx_dags.airflow.factory",
    "PipelineDagConfig": "tfx_dags.airflow.dag_config",
    "TaskOverride": "tfx_dags.airflow.dag_config",
    "IntervalSpans": "tfx_dags.airflow.interval_spans",
    "RunParam": "tfx_dags.airflow.params",
    "TfxDagsError": "tfx_dags.common.errors",
    "ConfigError": "tfx_dags.common.errors",
    # A module: the deployment's settings (homes, pools, queues), read when called.
    "settings": "tfx_dags.common",
}
__all__ = sorted(_PUBLIC)


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'tfx_dags' has no attribute {name!r}")
    owner = importlib.import_module(module)
    if name in vars(owner) or not hasattr(owner, "__path__"):
        return getattr(owner, name)
    return importlib.import_module(f"{module}.{name}")  # a module of that package
