"""A TFX ``AirflowDagRunner`` file's DAG settings, carried over to Airflow 3.

The compile step records the ``airflow_dag_config`` the file passed to
``AirflowPipelineConfig`` (as JSON: ``common/json_dates.py``); here it becomes
``PipelineDagConfig`` settings. What Airflow 3 changed for every DAG applies here too: a
setting the file leaves out takes Airflow 3's default (no schedule, no catchup), not Airflow
2's (daily, catch up). A naive ``start_date`` is UTC, as Airflow's default timezone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tfx_dags.airflow.dag_config import TaskOverride, task_override
from tfx_dags.common import json_dates
from tfx_dags.common.errors import ConfigError
from tfx_dags.common.graph import PipelineGraph


def dag_settings(source: Path, graph: PipelineGraph) -> dict[str, Any]:
    """``PipelineDagConfig`` keyword arguments from the file's AirflowPipelineConfig."""
    airflow = dict(graph.airflow or {})
    where = f"{source}: AirflowPipelineConfig"
    settings: dict[str, Any] = {}
    if "schedule" in airflow or "schedule_interval" in airflow:
        key = "schedule" if "schedule" in airflow else "schedule_interval"
        settings["schedule"] = _schedule(f"{where} {key}", airflow[key])
    if "start_date" in airflow:
        settings["start_date"] = _datetime(f"{where} start_date", airflow["start_date"])
    for key in ("catchup", "max_active_runs", "description"):
        if key in airflow:
            settings[key] = airflow[key]
    if "tags" in airflow:
        settings["tags"] = tuple(airflow["tags"] or ())
    default_args = airflow.get("default_args") or {}
    if not isinstance(default_args, Mapping):
        raise ConfigError(f"{where} default_args={default_args!r} must be a mapping")
    for key in ("owner", "retries"):
        if key in default_args:
            settings[key] = default_args[key]
    if "retry_delay" in default_args:
        settings["retry_delay"] = _timedelta(f"{where} retry_delay", default_args["retry_delay"])
    if "execution_timeout" in default_args:
        timeout = _timedelta(f"{where} execution_timeout", default_args["execution_timeout"])
        settings["task_overrides"] = {
            node.node_id: TaskOverride(execution_timeout=timeout) for node in graph.nodes
        }
    return settings


def _schedule(where: str, value: Any) -> str | timedelta | None:
    if value is None or isinstance(value, str):
        return value
    return _timedelta(where, value)


def _datetime(where: str, value: Any) -> datetime:
    moment = json_dates.decode_datetime(value)
    if moment is None:
        raise ConfigError(f"{where}={value!r} is not a datetime")
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _timedelta(where: str, value: Any) -> timedelta:
    duration = json_dates.decode_timedelta(value)
    if duration is None:
        raise ConfigError(f"{where}={value!r} is not a timedelta")
    return duration


def merge_task_overrides(settings: Mapping[str, Any], overrides: Any) -> Any:
    """The declaration's ``task_overrides`` over the file's (its execution timeouts), field by
    field: setting a node's pool keeps the timeout the file gave it."""
    from_file = settings.get("task_overrides") or {}
    if not isinstance(overrides, Mapping) or not from_file:
        return overrides
    merged = dict(from_file)
    for node_id, value in overrides.items():
        override = task_override(node_id, value)
        base = merged.get(node_id, TaskOverride())
        merged[node_id] = TaskOverride(
            **{
                field.name: getattr(override, field.name)
                if getattr(override, field.name) not in (None, {})
                else getattr(base, field.name)
                for field in fields(TaskOverride)
            }
        )
    return merged
