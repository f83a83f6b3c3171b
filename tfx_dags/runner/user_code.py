"""Users' ``module_file=`` code and other files a compiled pipeline depends on.

Compile side, as TFX's own runners do (``tfx/orchestration/portable/tfx_runner.py``): each
component's ``_resolve_pip_dependencies(pipeline_root)`` packages a module file, with every
``.py`` file of its folder, into a wheel under ``<pipeline_root>/_wheels`` whose version is
a hash of those files, and points the component's ``module_path`` at
``module@<wheel>``. The executor imports it from there and hands the wheel to Beam, so the
Beam SDK workers import it too; an edited module file is a new wheel and so a cache miss,
an unchanged one a cache hit. Files read at run time by path only (a module file's folder,
``ImportSchemaGen``'s schema file) are listed in the manifest with their digests: the
Airflow side recompiles when one changes.

Node side: TFX installs such a wheel with ``pip install --target`` into a temporary folder
at every import, seconds per node. A TFX user-code wheel is pure Python (``py3-none-any``),
so unpacking it is the same install; ``use_fast_wheel_install`` makes TFX do that.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import sys
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# A parameter added to each ImportSchemaGen node: the schema file's digest, so that TFX's
# cache key (which sees only the file's path) changes exactly when the file does.
SCHEMA_DIGEST_PARAMETER = "tfx_dags_schema_sha256"
SCHEMA_GEN_TYPES = ("ImportSchemaGen",)
WHEELS_FOLDER = "_wheels"


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def module_files(pipeline: Any) -> list[Path]:
    """The ``module_file=`` paths of the pipeline's components, before packaging."""
    files = []
    for component in pipeline.components:
        for dependency in getattr(component, "_pip_dependencies", []):
            key = getattr(dependency, "module_file_key", None)
            value = component.spec.exec_properties.get(key) if key else None
            if isinstance(value, str) and value:
                files.append(Path(value))
    return files


def package_module_files(pipeline: Any) -> dict[str, str]:
    """Package every component's module file as TFX's runners do; return the files the
    wheels were made of (each module file's folder, ``.py`` files) with their digests."""
    inputs = {}
    for module_file in module_files(pipeline):
        if not module_file.is_file():
            raise FileNotFoundError(f"module_file {module_file} does not exist")
        for source in sorted(module_file.resolve().parent.glob("*.py")):
            inputs[str(source)] = file_digest(source)
    from tfx.dsl.components.base import base_component

    root = str(pipeline.pipeline_info.pipeline_root)
    components = [c for c in pipeline.components if isinstance(c, base_component.BaseComponent)]
    if not any(component._pip_dependencies for component in components):
        return inputs
    with _wheels_lock(root):
        for component in components:
            component._resolve_pip_dependencies(root)
    return inputs


@contextmanager
def _wheels_lock(pipeline_root: str) -> Iterator[None]:
    """TFX writes each wheel through one fixed ``.tmp`` name: two compiles of one pipeline at
    once (a DAG processor and a worker) would race on it. Local roots are locked; a remote
    root (gs://, s3://) is written by one deployment step."""
    if "://" in pipeline_root:
        yield
        return
    folder = Path(pipeline_root) / WHEELS_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def fingerprint_schema_files(ir: Any) -> dict[str, str]:
    """Put each ImportSchemaGen's schema digest into its parameters; return the files."""
    inputs = {}
    for node in ir.nodes:
        pipeline_node = node.pipeline_node
        if pipeline_node.node_info.type.name.rsplit(".", 1)[-1] not in SCHEMA_GEN_TYPES:
            continue
        value = pipeline_node.parameters.parameters.get("schema_file")
        if value is None or not value.field_value.HasField("string_value"):
            continue  # a RuntimeParameter: known only at run time, so never cached
        path = Path(value.field_value.string_value)
        if not path.is_file():
            raise FileNotFoundError(f"{pipeline_node.node_info.id}: schema file {path} not found")
        digest = file_digest(path)
        parameter = pipeline_node.parameters.parameters[SCHEMA_DIGEST_PARAMETER]
        parameter.field_value.string_value = digest
        inputs[str(path.resolve())] = digest
    return inputs


def uncached_schema_nodes(ir: Any) -> None:
    """An ImportSchemaGen whose schema path is a RuntimeParameter never hits the cache."""
    for node in ir.nodes:
        pipeline_node = node.pipeline_node
        if pipeline_node.node_info.type.name.rsplit(".", 1)[-1] not in SCHEMA_GEN_TYPES:
            continue
        if SCHEMA_DIGEST_PARAMETER not in pipeline_node.parameters.parameters:
            pipeline_node.execution_options.caching_options.enable_cache = False


# --- node side ---------------------------------------------------------------------------


def add_python_path(folders: list[str]) -> None:
    """The pipeline file's folder, first on sys.path and on PYTHONPATH (Beam SDK workers and
    other subprocesses of the node import the user's code too)."""
    for folder in reversed(folders):
        if folder not in sys.path:
            sys.path.insert(0, folder)
    entries = [entry for entry in os.environ.get("PYTHONPATH", "").split(os.pathsep) if entry]
    kept = [entry for entry in entries if entry not in folders]
    os.environ["PYTHONPATH"] = os.pathsep.join([*folders, *kept])


def use_fast_wheel_install() -> None:
    """Have TFX unpack its pure-Python user-code wheels instead of running pip on them."""
    from tfx.components.util import udf_utils

    pip_install = udf_utils.install_to_temp_directory

    def install_to_temp_directory(pip_dependency: str, temp_dir: str | None = None) -> str:
        if not unpackable(pip_dependency):
            return pip_install(pip_dependency, temp_dir=temp_dir)
        import tempfile

        target = temp_dir or tempfile.mkdtemp()
        with zipfile.ZipFile(pip_dependency) as wheel:
            wheel.extractall(target)
        return target

    udf_utils.install_to_temp_directory = install_to_temp_directory


def unpackable(pip_dependency: str) -> bool:
    """A local pure-Python wheel: unpacking it is all pip would do."""
    name = Path(pip_dependency).name
    return name.endswith("-py3-none-any.whl") and Path(pip_dependency).is_file()
