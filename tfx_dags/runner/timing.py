"""Where a node's time goes inside TFX: the whole launch (driver, executor, publisher, ML
Metadata) and the executor alone. Used by the node runner (printed into the task log) and
by the end-to-end benchmark's LocalDagRunner baseline, so both are measured the same way."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any

# node id -> {"launch_s": ..., "executor_s": ...}, filled as launches happen.
TIMINGS: dict[str, dict[str, float]] = {}


def record_launches() -> dict[str, dict[str, float]]:
    """Time every ``Launcher.launch`` and ``Launcher._run_executor`` from now on."""
    from tfx.orchestration.portable import launcher

    cls = launcher.Launcher
    if getattr(cls, "_tfx_dags_timed", False):
        return TIMINGS
    cls.launch = _timed(cls.launch, "launch_s")
    cls._run_executor = _timed(cls._run_executor, "executor_s")
    cls._tfx_dags_timed = True
    return TIMINGS


def _timed(method: Callable[..., Any], key: str) -> Callable[..., Any]:
    @functools.wraps(method)
    def timed(self: Any, *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return method(self, *args, **kwargs)
        finally:
            node_id = self._pipeline_node.node_info.id
            spent = TIMINGS.setdefault(node_id, {"launch_s": 0.0, "executor_s": 0.0})
            spent[key] += time.perf_counter() - start

    return timed
