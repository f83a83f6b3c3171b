"""One JSON encoding of dates and durations, for an AirflowDagRunner file's DAG settings.

The compile step (TFX environment, ``compiler/definitions.py``) encodes the file's
``airflow_dag_config`` into the manifest; the Airflow side (``airflow/migration.py``) decodes
it into DAG settings: ``datetime`` (and ``date``, at midnight) as ``{"datetime": ISO}``,
``timedelta`` as ``{"timedelta_s": seconds}``, JSON values as they are.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

from tfx_dags.common.errors import TfxDagsError

DATETIME_KEY = "datetime"
TIMEDELTA_KEY = "timedelta_s"


class UnencodableValue(TfxDagsError):
    """A value that is neither JSON, a datetime, a date nor a timedelta; the message names
    its key."""


def encode(key: str, value: Any) -> Any:
    """``value`` as JSON, datetimes and timedeltas tagged, at any depth; ``key`` names it in
    the error for anything else (``default_args.retry_delay``)."""
    if isinstance(value, datetime):
        return {DATETIME_KEY: value.isoformat()}
    if isinstance(value, date):
        return {DATETIME_KEY: datetime(value.year, value.month, value.day).isoformat()}
    if isinstance(value, timedelta):
        return {TIMEDELTA_KEY: value.total_seconds()}
    if isinstance(value, dict):
        return {name: encode(f"{key}.{name}", item) for name, item in value.items()}
    if isinstance(value, list | tuple):
        return [encode(key, item) for item in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise UnencodableValue(
        f"{key}={value!r} is a {type(value).__name__}; tfx_dags carries over strings, "
        "numbers, datetimes and timedeltas"
    )


def decode_datetime(value: Any) -> datetime | None:
    """The datetime ``encode`` wrote (naive if it was); None for anything else."""
    if not isinstance(value, Mapping) or not isinstance(value.get(DATETIME_KEY), str):
        return None
    try:
        return datetime.fromisoformat(value[DATETIME_KEY])
    except ValueError:
        return None


def decode_timedelta(value: Any) -> timedelta | None:
    """The timedelta ``encode`` wrote, or a bare number of seconds (Airflow 2 read those as
    seconds); None for anything else."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(seconds=value)
    if not isinstance(value, Mapping):
        return None
    seconds = value.get(TIMEDELTA_KEY)
    if not isinstance(seconds, int | float):
        return None
    return timedelta(seconds=seconds)
