"""Every setting of tfx_dags, read from the environment at call time, with its default.

Read at call time (not import time) so that tests and tools can point one process at another
home. Both environments import this module, so it must stay free of Airflow and TFX imports.

| variable                       | default                          | what                         |
|--------------------------------|----------------------------------|------------------------------|
| TFX_DAGS_HOME                  | <project>/var                    | artifacts, ML Metadata, push |
| TFX_DAGS_TFX_PYTHON            | <project>/.venv-tfx/bin/python   | interpreter that runs nodes  |
| TFX_DAGS_COMPILED_DIR          | <project>/var/compiled           | compiled-pipeline cache      |
| TFX_DAGS_COMPILE_TIMEOUT       | 300 (seconds)                    | bound on one pipeline compile|
| TFX_DAGS_METADATA_SQLITE       | $TFX_DAGS_HOME/metadata.sqlite   | ML Metadata SQLite file      |
| TFX_DAGS_KILL_GRACE            | 10 (seconds)                     | SIGTERM -> SIGKILL on a kill |
"""

from __future__ import annotations

import os
from pathlib import Path

from tfx_dags.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def _path(variable: str, default: Path) -> Path:
    value = os.environ.get(variable)
    return Path(value).expanduser().resolve() if value else default


def _positive_seconds(variable: str, default: float) -> float:
    value = os.environ.get(variable)
    if not value:
        return default
    try:
        seconds = float(value)
    except ValueError:
        raise ConfigError(f"{variable}={value!r} is not a number of seconds") from None
    if seconds <= 0:
        raise ConfigError(f"{variable}={value!r} must be a positive number of seconds")
    return seconds


def home() -> Path:
    """Root of everything a pipeline writes: pipeline roots, ML Metadata, pushed models."""
    return _path("TFX_DAGS_HOME", PROJECT_ROOT / "var")


def tfx_python() -> Path:
    """The TFX environment's interpreter, which runs the compile step and every node."""
    return _path("TFX_DAGS_TFX_PYTHON", PROJECT_ROOT / ".venv-tfx" / "bin" / "python")


def compiled_dir() -> Path:
    """Cache of compiled pipelines. Entries are keyed by content, so homes can share it."""
    return _path("TFX_DAGS_COMPILED_DIR", PROJECT_ROOT / "var" / "compiled")


def compile_timeout_s() -> float:
    return _positive_seconds("TFX_DAGS_COMPILE_TIMEOUT", 300.0)


def kill_grace_s() -> float:
    """How long a killed node gets to stop after SIGTERM before its process group is SIGKILLed."""
    return _positive_seconds("TFX_DAGS_KILL_GRACE", 10.0)


def pipeline_root(pipeline_name: str) -> Path:
    return home() / "pipelines" / pipeline_name


def serving_dir(pipeline_name: str) -> Path:
    """Where a pipeline's Pusher writes blessed models, one timestamped folder per push."""
    return home() / "serving" / pipeline_name


def metadata_sqlite_path() -> Path:
    return _path("TFX_DAGS_METADATA_SQLITE", home() / "metadata.sqlite")
