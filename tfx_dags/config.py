"""Typed configuration of one pipeline DAG, validated in named steps before anything is built."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from tfx_dags.errors import ConfigError

# Airflow's own rule for dag_id and task_id (airflow.utils.helpers.KEY_REGEX).
KEY_PATTERN = re.compile(r"^[\w.-]+$")
_DOTTED = r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*"
_PIPELINE_REF = re.compile(rf"^(?P<module>{_DOTTED}|/.+\.py):(?P<function>[A-Za-z_]\w*)$")
# The factory passes these to the pipeline function itself.
FACTORY_KWARGS = ("pipeline_name", "pipeline_root")


@dataclass(frozen=True)
class PipelineRef:
    """Where a pipeline function lives: a dotted module or an absolute ``.py`` path."""

    module: str
    function: str

    @property
    def is_file(self) -> bool:
        return self.module.endswith(".py")

    def __str__(self) -> str:
        return f"{self.module}:{self.function}"


def parse_pipeline_ref(value: str) -> PipelineRef:
    """Parse ``package.module:function`` or ``/abs/path/file.py:function``."""
    match = _PIPELINE_REF.match(value) if isinstance(value, str) else None
    if match is None:
        raise ConfigError(
            f"pipeline={value!r} is not a pipeline reference; use 'package.module:function' "
            "or '/absolute/path/file.py:function' naming a function that returns a tfx Pipeline"
        )
    return PipelineRef(match["module"], match["function"])


@dataclass(frozen=True)
class PipelineDagConfig:
    """One TFX pipeline as one Airflow DAG.

    Args:
        dag_id: Airflow DAG id; also the TFX pipeline name, so ML Metadata groups runs by it.
        pipeline: ``package.module:function`` or ``/abs/path.py:function``; the function takes
            keyword arguments and returns a ``tfx.dsl.Pipeline``. The factory passes
            ``pipeline_name`` and ``pipeline_root`` itself.
        pipeline_kwargs: further keyword arguments for the function; JSON values only, since
            they cross into the TFX environment and into the compile cache key.
        schedule: an Airflow schedule (cron string, preset such as ``"@daily"``) or None for
            manual runs only. Default None.
        start_date: first logical date. Default 2024-01-01 UTC.
        catchup: run missed intervals since ``start_date``. Default False.
        owner: shown in the UI and required by the DAG integrity tests. Default ``"airflow"``.
        tags: UI tags. Default none.
        retries: retries of each task. Default 1.
        retry_delay: pause before a retry. Default one minute.
        max_active_runs: concurrent runs of this DAG. Default 1.
        description: DAG description. Default: names the pipeline function.
    """

    dag_id: str
    pipeline: str
    pipeline_kwargs: Mapping[str, Any] = field(default_factory=dict)
    schedule: str | None = None
    start_date: datetime = datetime(2024, 1, 1, tzinfo=UTC)
    catchup: bool = False
    owner: str = "airflow"
    tags: tuple[str, ...] = ()
    retries: int = 1
    retry_delay: timedelta = timedelta(minutes=1)
    max_active_runs: int = 1
    description: str | None = None

    def validate(self) -> PipelineRef:
        """Check every field; return the parsed pipeline reference. Raises ConfigError."""
        _validate_dag_id(self.dag_id)
        ref = parse_pipeline_ref(self.pipeline)
        _validate_pipeline_kwargs(self.pipeline_kwargs)
        _validate_scheduling(self)
        _validate_ownership(self)
        return ref


def _validate_dag_id(dag_id: object) -> None:
    if not isinstance(dag_id, str) or not KEY_PATTERN.match(dag_id) or len(dag_id) > 250:
        raise ConfigError(
            f"dag_id={dag_id!r} is not a valid Airflow DAG id; use letters, digits, '_', '.' "
            "and '-' (at most 250 characters)"
        )


def _validate_pipeline_kwargs(kwargs: object) -> None:
    if not isinstance(kwargs, Mapping):
        raise ConfigError(f"pipeline_kwargs must be a mapping, got {type(kwargs).__name__}")
    for key in kwargs:
        if key in FACTORY_KWARGS:
            raise ConfigError(
                f"pipeline_kwargs[{key!r}] is set by the factory (from dag_id and "
                "TFX_DAGS_HOME); remove it from the DAG file"
            )
    try:
        json.dumps(kwargs, sort_keys=True)
    except (TypeError, ValueError) as error:
        raise ConfigError(
            f"pipeline_kwargs must hold JSON values only (str, number, bool, None, list, dict): "
            f"{error}"
        ) from None


def _validate_scheduling(config: PipelineDagConfig) -> None:
    if config.schedule is not None and not isinstance(config.schedule, str):
        raise ConfigError(f"schedule={config.schedule!r} must be a cron string, preset or None")
    if not isinstance(config.start_date, datetime) or config.start_date.tzinfo is None:
        raise ConfigError(f"start_date={config.start_date!r} must be a timezone-aware datetime")
    if (
        isinstance(config.retries, bool)
        or not isinstance(config.retries, int)
        or (config.retries < 0)
    ):
        raise ConfigError(f"retries={config.retries!r} must be an integer >= 0")
    if not isinstance(config.retry_delay, timedelta) or config.retry_delay < timedelta(0):
        raise ConfigError(f"retry_delay={config.retry_delay!r} must be a timedelta >= 0")
    if (
        isinstance(config.max_active_runs, bool)
        or not isinstance(config.max_active_runs, int)
        or config.max_active_runs < 1
    ):
        raise ConfigError(f"max_active_runs={config.max_active_runs!r} must be an integer >= 1")


def _validate_ownership(config: PipelineDagConfig) -> None:
    if not isinstance(config.owner, str) or not config.owner.strip():
        raise ConfigError(f"owner={config.owner!r} must be a non-empty string")
    if isinstance(config.tags, str) or not all(isinstance(tag, str) for tag in config.tags):
        raise ConfigError(f"tags={config.tags!r} must be a sequence of strings")
