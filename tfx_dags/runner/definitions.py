"""Where a pipeline definition comes from, loaded the way Python would run it.

Three kinds of reference, all compiled in the TFX environment:

- ``package.module:function``: imported like any module. A package the Airflow side found in
  a folder on its path rather than installed (one in the DAG folder, which Airflow puts on
  its path) comes with that folder (``python_path``), put first on the path here and in
  every node, as a pipeline file's folder is.
- ``/path/file.py:function``: the file is imported as a top-level module named after it, with
  its folder first on ``sys.path``, as ``python file.py`` would see it. So the file's own
  imports of packages beside it work, it is in ``sys.modules`` (TFX's ``@component``
  decorator looks itself up there), and a node process can import what the file defines
  (a ``@component``'s executor class) by the same name, given the same folder.
- ``/path/file.py`` alone: a DAG file written for TFX's ``AirflowDagRunner``. It runs with a
  stand-in for ``tfx.orchestration.airflow.airflow_dag_runner`` that records the pipeline
  handed to ``AirflowDagRunner(...).run(...)`` and its ``AirflowPipelineConfig``, instead of
  building an Airflow 2 DAG: no Airflow in the TFX environment.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import types
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any

from tfx_dags.common.errors import TfxDagsError
from tfx_dags.common.graph import environment_digest
from tfx_dags.common.pipeline_ref import PipelineRef
from tfx_dags.runner.user_code import add_python_path

AIRFLOW_RUNNER_MODULE = "tfx.orchestration.airflow.airflow_dag_runner"
# What tfx_dags can honour of an AirflowPipelineConfig's airflow_dag_config (the keyword
# arguments TFX's runner passed to Airflow 2's DAG), and of its default_args.
AIRFLOW_DAG_KEYS = (
    "schedule_interval",
    "schedule",
    "start_date",
    "catchup",
    "default_args",
    "max_active_runs",
    "tags",
    "description",
)
AIRFLOW_DEFAULT_ARGS = ("owner", "retries", "retry_delay", "execution_timeout")


class DefinitionError(TfxDagsError):
    """The pipeline reference does not lead to a usable pipeline."""


@dataclass
class Definition:
    """What a reference yields: the pipeline, and what a node needs to import the user code."""

    pipeline: Any
    # Folders a node process puts first on sys.path (and PYTHONPATH, for its subprocesses).
    python_path: list[str] = field(default_factory=list)
    # The user's own code among them: the pipeline file's folder, or the package a dotted
    # reference names (an edit to an executor defined there re-runs its nodes).
    user_folders: list[str] = field(default_factory=list)
    # An AirflowDagRunner file's DAG settings, as JSON values (see airflow_settings).
    airflow: dict[str, Any] | None = None
    # Environment variables the user's files read while building the pipeline (TFX's
    # examples read $HOME at import): a digest of the value each had (values may be
    # secrets, and the manifest is a file), None for unset.
    environment: dict[str, str | None] = field(default_factory=dict)


def load_definition(
    ref: PipelineRef, kwargs: dict[str, Any], python_path: Sequence[str] = ()
) -> Definition:
    """Run the pipeline definition; its errors name the user's file and line.
    ``python_path``: where a dotted reference's package is, when it is not installed."""
    if not ref.is_file:
        return _load_dotted(ref, kwargs, list(python_path))
    path = Path(ref.module)
    if not path.is_file():
        raise DefinitionError(f"pipeline file {path} does not exist")
    folder = [str(path.parent.resolve())]
    # Also for a named function: a file written for AirflowDagRunner imports it at the top.
    captured = install_airflow_runner_stand_in()
    with recording_environment(folder) as environment:
        if ref.function:
            module = import_pipeline_file(path)
            pipeline = _function(module, ref.function)(**kwargs)
            return Definition(pipeline, folder, user_folders=folder, environment=environment)
        if kwargs:
            raise DefinitionError(
                f"{path} builds its pipeline itself (AirflowDagRunner); it takes no "
                f"pipeline_kwargs, got {sorted(kwargs)}"
            )
        import_pipeline_file(path)
    if not captured:
        raise DefinitionError(
            f"{path} never called AirflowDagRunner(...).run(pipeline) at import; name the "
            "function that returns its pipeline instead ('file.py:function')"
        )
    if len(captured) > 1:
        names = [run.pipeline.pipeline_info.pipeline_name for run in captured]
        raise DefinitionError(f"{path} runs {len(captured)} pipelines {names}; one per file")
    [run] = captured
    settings = airflow_settings(path, run.dag_config)
    return Definition(
        run.pipeline,
        folder,
        user_folders=folder,
        airflow=settings,
        environment=environment,
    )


def _load_dotted(ref: PipelineRef, kwargs: dict[str, Any], python_path: list[str]) -> Definition:
    if not python_path:
        module = importlib.import_module(ref.module)
        return Definition(_function(module, ref.function)(**kwargs))
    add_python_path(python_path)
    spec = importlib.util.find_spec(ref.module.partition(".")[0])
    locations = list(spec.submodule_search_locations or []) if spec else []
    # The package's folder; a top-level module's is its python_path folder.
    user_folders = [str(locations[0])] if locations else python_path[:1]
    with recording_environment(user_folders) as environment:
        module = importlib.import_module(ref.module)
        pipeline = _function(module, ref.function)(**kwargs)
    return Definition(pipeline, python_path, user_folders=user_folders, environment=environment)


@contextmanager
def recording_environment(user_folders: list[str]) -> Iterator[dict[str, str | None]]:
    """Record the environment variables that code in the user's folders reads (``os.environ``
    and ``os.getenv``): the compiled pipeline depends on them, so the Airflow side compiles
    again when one differs. Reads by TFX's and other libraries' code are not recorded."""
    read: dict[str, str | None] = {}
    original = type(os.environ)
    folders = tuple(folder.rstrip(os.sep) + os.sep for folder in user_folders)

    class RecordingEnviron(original):  # type: ignore[valid-type, misc]
        def __getitem__(self, key: str) -> str:
            try:
                value = super().__getitem__(key)
            except KeyError:
                if _read_by_user_code(folders):
                    read[key] = None
                raise
            if _read_by_user_code(folders):
                read[key] = environment_digest(value)
            return str(value)

    os.environ.__class__ = RecordingEnviron
    try:
        yield read
    finally:
        os.environ.__class__ = original


# Modules between the user's code and os.environ (os.getenv, Mapping.get); frozen in 3.11.
_LOOKUP_MODULES = ("os", "_collections_abc", "collections.abc")


def _read_by_user_code(folders: tuple[str, ...]) -> bool:
    """Whether the nearest caller outside os and collections.abc is in the user's folders."""
    frame: FrameType | None = sys._getframe(2)
    while frame is not None and frame.f_globals.get("__name__") in _LOOKUP_MODULES:
        frame = frame.f_back
    return frame is not None and frame.f_code.co_filename.startswith(folders)


def _function(module: types.ModuleType, name: str) -> Callable[..., Any]:
    function = getattr(module, name, None)
    if not callable(function):
        raise DefinitionError(f"{module.__file__} defines no function {name!r}")
    return function


def import_pipeline_file(path: Path) -> types.ModuleType:
    """Import ``path`` as the top-level module named after it, its folder first on sys.path."""
    path = path.resolve()
    name = path.stem
    if not name.isidentifier():
        raise DefinitionError(
            f"pipeline file {path}: {name!r} is not a Python module name; rename the file"
        )
    existing = sys.modules.get(name)
    if existing is not None:
        existing_file = getattr(existing, "__file__", None)
        if existing_file and Path(existing_file).resolve() == path:
            return existing
        raise DefinitionError(
            f"pipeline file {path} would be the module {name!r}, which is already "
            f"{getattr(existing, '__file__', None) or 'a built-in module'}; rename the file"
        )
    # A file named like an installed or standard module would shadow it, for this process
    # and (through PYTHONPATH) for the node's Beam workers.
    installed = importlib.util.find_spec(name)
    if installed is not None and installed.origin and Path(installed.origin).resolve() != path:
        raise DefinitionError(
            f"pipeline file {path} would be the module {name!r}, which is already "
            f"{installed.origin}; rename the file"
        )
    folder = str(path.parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    module = importlib.import_module(name)
    if Path(str(module.__file__)).resolve() != path:
        raise DefinitionError(
            f"pipeline file {path}: 'import {name}' finds {module.__file__} first; rename the file"
        )
    return module


@dataclass
class CapturedRun:
    pipeline: Any
    dag_config: dict[str, Any]


def install_airflow_runner_stand_in() -> list[CapturedRun]:
    """Put a recording ``AirflowDagRunner`` where TFX's (which imports Airflow) would be
    imported from; return the list its runs are recorded in."""
    captured: list[CapturedRun] = []
    module = types.ModuleType(AIRFLOW_RUNNER_MODULE)
    module.__doc__ = "tfx_dags' stand-in: records the pipeline instead of building a DAG."

    class AirflowPipelineConfig:
        def __init__(self, airflow_dag_config: dict[str, Any] | None = None, **kwargs: Any):
            self.airflow_dag_config = dict(airflow_dag_config or {})
            self.kwargs = kwargs

    class AirflowDagRunner:
        def __init__(self, config: Any = None) -> None:
            if config is not None and not isinstance(config, AirflowPipelineConfig):
                config = AirflowPipelineConfig(airflow_dag_config=config)
            self.config = config or AirflowPipelineConfig()

        def run(self, tfx_pipeline: Any) -> str:
            captured.append(CapturedRun(tfx_pipeline, self.config.airflow_dag_config))
            # The file keeps a module-level name for Airflow 2's DagBag; nothing reads it.
            return f"<TFX pipeline {tfx_pipeline.pipeline_info.pipeline_name}, run by tfx_dags>"

    module.AirflowPipelineConfig = AirflowPipelineConfig  # type: ignore[attr-defined]
    module.AirflowDagRunner = AirflowDagRunner  # type: ignore[attr-defined]
    sys.modules[AIRFLOW_RUNNER_MODULE] = module
    return captured


def airflow_settings(path: Path, dag_config: dict[str, Any]) -> dict[str, Any]:
    """An AirflowPipelineConfig's DAG settings as JSON values; the factory turns them into
    Airflow 3's. A setting tfx_dags cannot honour is an error naming it, never ignored."""
    unknown = sorted(set(dag_config) - set(AIRFLOW_DAG_KEYS))
    if unknown:
        raise DefinitionError(
            f"{path}: AirflowPipelineConfig sets {unknown}, which tfx_dags does not carry over; "
            f"supported: {', '.join(AIRFLOW_DAG_KEYS)} (set the rest in the DAG declaration)"
        )
    settings = {key: _json_value(path, key, value) for key, value in dag_config.items()}
    default_args = dag_config.get("default_args") or {}
    unknown = sorted(set(default_args) - set(AIRFLOW_DEFAULT_ARGS))
    if unknown:
        raise DefinitionError(
            f"{path}: default_args sets {unknown}, which tfx_dags does not carry over; "
            f"supported: {', '.join(AIRFLOW_DEFAULT_ARGS)}"
        )
    return settings


def _json_value(path: Path, key: str, value: Any) -> Any:
    """datetime -> {"datetime": ISO}, timedelta -> {"timedelta_s": seconds}; JSON as is."""
    if isinstance(value, datetime):
        return {"datetime": value.isoformat()}
    if isinstance(value, date):
        return {"datetime": datetime(value.year, value.month, value.day).isoformat()}
    if isinstance(value, timedelta):
        return {"timedelta_s": value.total_seconds()}
    if isinstance(value, dict):
        return {name: _json_value(path, f"{key}.{name}", item) for name, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_value(path, key, item) for item in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise DefinitionError(
        f"{path}: AirflowPipelineConfig {key}={value!r} is a {type(value).__name__}; tfx_dags "
        "carries over strings, numbers, datetimes and timedeltas"
    )
