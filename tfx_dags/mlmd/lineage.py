"""The names the node runner, ``tfx_dags.queries.close_execution`` and ``mlmd.tfx_lines``
import from here, kept where they were: the read model lives in ``records`` and the query
modules ``contexts``, ``executions``, ``events`` and ``artifacts``."""

from __future__ import annotations

from tfx_dags.mlmd.artifacts import execution_artifacts
from tfx_dags.mlmd.contexts import LINE_PROPERTY, PIPELINE_CONTEXT
from tfx_dags.mlmd.executions import close_unfinished, completed_execution, newest_execution

__all__ = [
    "LINE_PROPERTY",
    "PIPELINE_CONTEXT",
    "close_unfinished",
    "completed_execution",
    "execution_artifacts",
    "newest_execution",
]
