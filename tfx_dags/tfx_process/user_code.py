"""Users' code and files a compiled pipeline depends on, made visible to TFX's cache.

Compile side, as TFX's own runners do (``tfx/orchestration/portable/tfx_runner.py``): each
component's ``_resolve_pip_dependencies(pipeline_root)`` packages a module file, with every
``.py`` file of its folder, into a wheel under ``<pipeline_root>/_wheels`` whose version is
a hash of those files, and points the component's ``module_path`` at ``module@<wheel>``.
The executor imports it from there and hands the wheel to Beam, so the Beam SDK workers
import it too; an edited module file is a new wheel and so a cache miss, an unchanged one a
cache hit. The module files' folders are listed in the manifest with their digests (the
Airflow side recompiles when one changes), and the wheels by path (a deleted one is built
again). Executors defined in the user's own files (a ``@component`` in the pipeline file, a
custom component from a package beside it) are only a class path to TFX's cache: their
nodes get a digest of the user's folder as a parameter, so an edit re-runs them.

Node side: ``ImportSchemaGen`` reads its schema file by path, which is all TFX's cache sees;
the node puts the digest of what it will read into a parameter just before the launch.
TFX installs a user-code wheel with ``pip install --target`` into a temporary folder at
every import, seconds per node; a TFX user-code wheel is pure Python (``py3-none-any``), so
unpacking it is the same install, and ``use_fast_wheel_install`` makes TFX do that.
"""

from __future__ import annotations

import hashlib
import os
import sys
import zipfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tfx_dags.common.locks import folder_lock

# Node parameters tfx_dags adds so that TFX's cache key (which sees paths and class names,
# not contents) changes exactly when the content does.
SCHEMA_DIGEST_PARAMETER = "tfx_dags_schema_sha256"
CODE_DIGEST_PARAMETER = "tfx_dags_code_sha256"
SCHEMA_GEN_TYPES = ("ImportSchemaGen",)
WHEELS_FOLDER = "_wheels"


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def is_remote(path: str) -> bool:
    """gs://, s3://, hdfs://: read through TFX's fileio, never listed for the Airflow side."""
    return "://" in path


def module_files(pipeline: Any) -> list[str]:
    """The ``module_file=`` paths of the pipeline's components, before packaging."""
    files = []
    for component in pipeline.components:
        for dependency in getattr(component, "_pip_dependencies", []):
            key = getattr(dependency, "module_file_key", None)
            value = component.spec.exec_properties.get(key) if key else None
            if isinstance(value, str) and value:
                files.append(value)
    return files


def package_module_files(pipeline: Any) -> tuple[dict[str, str], list[str]]:
    """Package every component's module file as TFX's runners do. Returns the local files
    the wheels were made of (each module file's folder, ``.py`` files) with their digests,
    and the wheels."""
    from tfx.components.util import udf_utils
    from tfx.dsl.components.base import base_component

    inputs = {}
    for module_file in module_files(pipeline):
        if is_remote(module_file):
            continue  # TFX's packaging checks it through fileio
        if not Path(module_file).is_file():
            raise FileNotFoundError(f"module_file {module_file} does not exist")
        inputs.update(folder_digests(Path(module_file).resolve().parent, recursive=False))
    root = str(pipeline.pipeline_info.pipeline_root)
    components = [c for c in pipeline.components if isinstance(c, base_component.BaseComponent)]
    if not any(component._pip_dependencies for component in components):
        return inputs, []
    with _wheels_lock(root):
        for component in components:
            component._resolve_pip_dependencies(root)
    wheels = set()
    for component in components:
        for key, value in component.spec.exec_properties.items():
            if key == "module_path" and isinstance(value, str):
                wheels.update(udf_utils.decode_user_module_key(value)[1])
    return inputs, sorted(wheels)


def folder_digests(folder: Path, *, recursive: bool) -> dict[str, str]:
    """The ``.py`` files of a folder (and, recursive, its subfolders) with their digests."""
    paths = folder.rglob("*.py") if recursive else folder.glob("*.py")
    return {
        str(path): file_digest(path)
        for path in sorted(paths)
        if "__pycache__" not in path.parts and path.is_file()
    }


@contextmanager
def _wheels_lock(pipeline_root: str) -> Iterator[None]:
    """TFX writes each wheel through one fixed ``.tmp`` name: two compiles of one pipeline at
    once (a DAG processor and a worker) would race on it. Local roots are locked; a remote
    root (gs://, s3://) is written by one deployment step."""
    if is_remote(pipeline_root):
        yield
        return
    with folder_lock(Path(pipeline_root) / WHEELS_FOLDER):
        yield


def fingerprint_user_executors(ir: Any, user_folders: Iterable[str]) -> None:
    """Give each node whose executor class lives in the user's folders (the pipeline file's)
    a digest of those folders' code: TFX's cache sees only the class path, so an edited
    ``@component`` or custom executor would otherwise be a cache hit."""
    from tfx.orchestration.local import runner_utils

    folders = [Path(folder) for folder in user_folders]
    if not folders:
        return
    deployment = runner_utils.extract_local_deployment_config(ir)
    digest = None
    for node in ir.nodes:
        pipeline_node = node.pipeline_node
        spec = deployment.executor_specs.get(pipeline_node.node_info.id)
        source = _module_file(executor_class_path(spec).rpartition(".")[0])
        if source is None or not any(folder in source.parents for folder in folders):
            continue
        if digest is None:
            digest = hashlib.sha256()
            for folder in folders:
                for path, file_hash in folder_digests(folder, recursive=True).items():
                    digest.update(f"{path}\0{file_hash}\n".encode())
        parameter = pipeline_node.parameters.parameters[CODE_DIGEST_PARAMETER]
        parameter.field_value.string_value = digest.hexdigest()


def executor_class_path(spec: Any) -> str:
    """The executor class of a node's executable spec ("" for a container or none)."""
    which = spec.WhichOneof("spec") if spec is not None else None
    if which == "python_class_executable_spec":
        return str(spec.python_class_executable_spec.class_path)
    if which == "beam_executable_spec":
        return str(spec.beam_executable_spec.python_executor_spec.class_path)
    return ""


def _module_file(module_name: str) -> Path | None:
    module = sys.modules.get(module_name)
    filename = getattr(module, "__file__", None)
    return Path(filename).resolve() if filename else None


# --- node side ---------------------------------------------------------------------------


def fingerprint_schema_file(pipeline_node: Any) -> str | None:
    """An ImportSchemaGen's schema digest, taken from the file the executor is about to read
    (after the run's RuntimeParameters are bound) and put into the node's parameters."""
    if pipeline_node.node_info.type.name.rsplit(".", 1)[-1] not in SCHEMA_GEN_TYPES:
        return None
    value = pipeline_node.parameters.parameters.get("schema_file")
    if value is None or not value.field_value.HasField("string_value"):
        return None
    from tfx.dsl.io import fileio

    with fileio.open(value.field_value.string_value, "rb") as schema:
        digest = hashlib.sha256(schema.read()).hexdigest()
    parameter = pipeline_node.parameters.parameters[SCHEMA_DIGEST_PARAMETER]
    parameter.field_value.string_value = digest
    return digest


def add_python_path(folders: list[str]) -> None:
    """The pipeline file's folder, first on sys.path and on PYTHONPATH (Beam SDK workers and
    other subprocesses of the node import the user's code too)."""
    for folder in reversed(folders):
        if folder not in sys.path:
            sys.path.insert(0, folder)
    _prepend_pythonpath(folders)


def _prepend_pythonpath(folders: list[str]) -> None:
    entries = [entry for entry in os.environ.get("PYTHONPATH", "").split(os.pathsep) if entry]
    kept = [entry for entry in entries if entry not in folders]
    os.environ["PYTHONPATH"] = os.pathsep.join([*folders, *kept])


def use_fast_wheel_install() -> None:
    """Have TFX unpack its pure-Python user-code wheels instead of running pip on them.

    The unpacked folder goes first on sys.path and PYTHONPATH (TFX appends it): a module of
    the same name beside the pipeline file must not shadow the packaged one, which is the
    code TFX's cache keyed on."""
    from tfx.components.util import udf_utils

    pip_install = udf_utils.install_to_temp_directory

    def install_to_temp_directory(pip_dependency: str, temp_dir: str | None = None) -> str:
        if not unpackable(pip_dependency):
            return pip_install(pip_dependency, temp_dir=temp_dir)
        import tempfile

        target = temp_dir or tempfile.mkdtemp()
        with zipfile.ZipFile(pip_dependency) as wheel:
            wheel.extractall(target)
        if target not in sys.path:
            sys.path.insert(0, target)
        _prepend_pythonpath([target])
        return target

    udf_utils.install_to_temp_directory = install_to_temp_directory


def unpackable(pip_dependency: str) -> bool:
    """A local pure-Python wheel: unpacking it is all pip would do."""
    name = Path(pip_dependency).name
    return name.endswith("-py3-none-any.whl") and Path(pip_dependency).is_file()
