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
- ``/path/file.py`` alone: a file that hands its pipeline to a TFX runner (``LocalDagRunner``,
  ``BeamDagRunner``, ``AirflowDagRunner``, ``KubeflowDagRunner``, ``KubeflowV2DagRunner``), at
  import or under ``if __name__ == "__main__":``. It runs as ``python file.py`` would, from
  its folder, with stand-ins that record the pipeline (``tfx_process/runner_stand_ins.py``); the
  pipeline's own relative root and SQLite store resolve from that folder, where its nodes
  run too. An ``AirflowPipelineConfig``'s DAG settings are kept (``airflow_settings``).
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import inspect
import json
import os
import sys
import types
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from tfx_dags.common import json_dates
from tfx_dags.common.errors import TfxDagsError
from tfx_dags.common.manifest import environment_digest
from tfx_dags.common.pipeline_ref import (
    FACTORY_ARGUMENTS,
    DottedPipeline,
    PipelineFile,
    PipelineRef,
)
from tfx_dags.tfx_process.runner_stand_ins import (
    CapturedRun,
    install_runner_stand_ins,
    pipeline_name,
)
from tfx_dags.tfx_process.user_code import add_python_path

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
    # A runner file's runner: {"name": "LocalDagRunner", "ignored": [its settings' names]}.
    runner: dict[str, Any] | None = None
    # A runner file's folder: its nodes run there, as the file's own runner ran them.
    working_dir: str | None = None
    # Environment variables the user's files read while building the pipeline (TFX's
    # examples read $HOME at import): a digest of the value each had (values may be
    # secrets, and the manifest is a file), None for unset.
    environment: dict[str, str | None] = field(default_factory=dict)


def load_definition(
    ref: PipelineRef, kwargs: dict[str, Any], python_path: Sequence[str] = ()
) -> Definition:
    """Run the pipeline definition; its errors name the user's file and line.
    ``python_path``: where a dotted reference's package is, when it is not installed."""
    if isinstance(ref, DottedPipeline):
        return _load_dotted(ref, kwargs, list(python_path))
    path = Path(ref.path)
    if not path.is_file():
        raise DefinitionError(f"pipeline file {path} does not exist")
    folder = [str(path.parent.resolve())]
    # Also for a named function: a file written for a TFX runner imports it at the top.
    captured = install_runner_stand_ins()
    if isinstance(ref, PipelineFile):
        with recording_environment(folder) as environment:
            module = import_pipeline_file(path)
            pipeline = call_pipeline_function(module, ref.function, kwargs)
        return Definition(pipeline, folder, user_folders=folder, environment=environment)
    return _load_runner_file(path, folder, captured, kwargs)


def _load_runner_file(
    path: Path, folder: list[str], captured: list[CapturedRun], kwargs: dict[str, Any]
) -> Definition:
    if kwargs:
        raise DefinitionError(
            f"{path} builds its pipeline itself (it hands it to a TFX runner); it takes no "
            f"pipeline_kwargs, got {sorted(kwargs)}"
        )
    with recording_environment(folder) as environment, working_directory(path.parent):
        run_as_script(path, captured)
        run = _the_one_run(path, captured)
        resolve_own_paths(run.pipeline)
    airflow = airflow_settings(path, run.dag_config) if run.runner == "AirflowDagRunner" else None
    return Definition(
        run.pipeline,
        folder,
        user_folders=folder,
        airflow=airflow,
        environment=environment,
        runner={"name": run.runner, "ignored": run.ignored},
        working_dir=folder[0],
    )


def run_as_script(path: Path, captured: list[CapturedRun]) -> None:
    """Run the file as ``python file.py`` would: its module code, then, when that handed no
    pipeline to a runner, its ``if __name__ == "__main__":`` blocks (TFX's examples and
    templates run their pipeline there). The module keeps its own name, so that a node can
    import what it defines (a ``@component``) by that name."""
    module = import_pipeline_file(path)
    if captured:
        return
    blocks = main_blocks(path)
    if not blocks:
        return
    argv = sys.argv
    sys.argv = [str(path)]  # absl's app.run() parses the script's own command line
    try:
        for block in blocks:
            exec(compile(block, str(path), "exec"), module.__dict__)
    except SystemExit as exit_:
        # absl's app.run() ends with sys.exit(main()); a failure is a failure.
        if exit_.code not in (None, 0):
            raise DefinitionError(f"{path} exited with {exit_.code!r} under __main__") from None
    finally:
        sys.argv = argv


def main_blocks(path: Path) -> list[ast.Module]:
    """The bodies of the file's top-level ``if __name__ == "__main__":`` blocks."""
    tree = ast.parse(path.read_bytes(), str(path))
    blocks = []
    for statement in tree.body:
        if isinstance(statement, ast.If) and _is_main_test(statement.test):
            blocks.append(ast.Module(body=statement.body, type_ignores=[]))
    return blocks


def _is_main_test(test: ast.expr) -> bool:
    if not isinstance(test, ast.Compare) or len(test.ops) != 1:
        return False
    if not isinstance(test.ops[0], ast.Eq):
        return False
    sides = [test.left, test.comparators[0]]
    names = [side.id for side in sides if isinstance(side, ast.Name)]
    constants = [side.value for side in sides if isinstance(side, ast.Constant)]
    return names == ["__name__"] and constants == ["__main__"]


def _the_one_run(path: Path, captured: list[CapturedRun]) -> CapturedRun:
    if not captured:
        raise DefinitionError(
            f"{path} handed no pipeline to a TFX runner (LocalDagRunner, BeamDagRunner, "
            "AirflowDagRunner, KubeflowDagRunner, KubeflowV2DagRunner), neither at import nor "
            "under 'if __name__ == \"__main__\":'; name the function that returns its "
            "pipeline instead: pipeline_dag(pipeline='/path/file.py:function')"
        )
    if len(captured) > 1:
        runs = [f"{run.runner}: {pipeline_name(run.pipeline)}" for run in captured]
        raise DefinitionError(
            f"{path} hands {len(captured)} pipelines to TFX runners ({', '.join(runs)}); "
            "a DAG runs one: split the file, or name the function that returns one pipeline"
        )
    return captured[0]


@contextmanager
def working_directory(folder: Path) -> Iterator[None]:
    """The file's folder as the working directory, as ``python file.py`` from it: relative
    paths it builds (a template's ``OUTPUT_DIR = '.'``) resolve from there."""
    before = os.getcwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(before)


def resolve_own_paths(pipeline: Any) -> None:
    """Make the pipeline's own root, SQLite store and push destinations absolute, from the
    working directory: the DAG, ML Metadata's records, the pushed-model events and the TFX
    view read them from elsewhere. A URI (``gs://...``) is kept as it is."""
    info = getattr(pipeline, "pipeline_info", None)
    root = getattr(info, "pipeline_root", None)
    if info is not None and isinstance(root, str) and root and not _is_uri(root):
        info.pipeline_root = os.path.abspath(root)
    config = getattr(pipeline, "metadata_connection_config", None)
    if config is not None and hasattr(config, "HasField") and config.HasField("sqlite"):
        filename = config.sqlite.filename_uri
        if filename and not _is_uri(filename):
            config.sqlite.filename_uri = os.path.abspath(filename)
    for component in getattr(pipeline, "components", None) or ():
        # A Pusher's PushDestination (a template's serving_model_dir under OUTPUT_DIR='.'),
        # which TFX keeps as the JSON form of the proto.
        properties = getattr(component, "exec_properties", {})
        destination = properties.get("push_destination")
        if isinstance(destination, str) and destination.startswith("{"):
            parsed = json.loads(destination)
            directory = parsed.get("filesystem", {}).get("base_directory")
            if isinstance(directory, str) and directory and not _is_uri(directory):
                parsed["filesystem"]["base_directory"] = os.path.abspath(directory)
                properties["push_destination"] = json.dumps(parsed, indent=2, sort_keys=True)


def _is_uri(path: str) -> bool:
    return "://" in path


def call_pipeline_function(module: types.ModuleType, name: str, kwargs: dict[str, Any]) -> Any:
    """Call the pipeline function with the factory's arguments; one it cannot take (a
    function that names its pipeline and root itself) is an error saying how to declare it."""
    function = _function(module, name)
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return function(**kwargs)
    parameters = signature.parameters.values()
    if not any(parameter.kind is parameter.VAR_KEYWORD for parameter in parameters):
        accepted = {
            parameter.name
            for parameter in parameters
            if parameter.kind in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY)
        }
        missing = [key for key in FACTORY_ARGUMENTS if key in kwargs and key not in accepted]
        if missing:
            raise DefinitionError(
                f"{module.__file__}: {name}{signature} takes no {' or '.join(missing)}; the "
                "factory calls it with pipeline_name (the DAG id), pipeline_root (the "
                "deployment's root for it) and pipeline_kwargs, and needs both passed to "
                f"tfx.dsl.Pipeline: add {', '.join(missing)} to its parameters, or, for a "
                "file that hands its pipeline to a TFX runner, declare "
                f"runner_file_dag({module.__file__!r})"
            )
        unknown = sorted(set(kwargs) - accepted)
        if unknown:
            raise DefinitionError(
                f"{module.__file__}: {name}{signature} takes no {unknown}; pipeline_kwargs "
                "names the function's parameters"
            )
    return function(**kwargs)


def _load_dotted(ref: DottedPipeline, kwargs: dict[str, Any], python_path: list[str]) -> Definition:
    if not python_path:
        module = importlib.import_module(ref.module)
        return Definition(call_pipeline_function(module, ref.function, kwargs))
    add_python_path(python_path)
    spec = importlib.util.find_spec(ref.module.partition(".")[0])
    locations = list(spec.submodule_search_locations or []) if spec else []
    # The package's folder; a top-level module's is its python_path folder.
    user_folders = [str(locations[0])] if locations else python_path[:1]
    with recording_environment(user_folders) as environment:
        module = importlib.import_module(ref.module)
        pipeline = call_pipeline_function(module, ref.function, kwargs)
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
    try:
        return json_dates.encode(key, value)
    except json_dates.UnencodableValue as error:
        raise DefinitionError(f"{path}: AirflowPipelineConfig {error}") from None
