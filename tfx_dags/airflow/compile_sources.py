"""Where a pipeline's user code is, found on the Airflow side without importing it: the file
that defines the pipeline, the files whose change may change it (the cache key hashes them),
and the folder a dotted reference's package is imported from (``user_code_path``)."""

from __future__ import annotations

import importlib.util
import os
import sys
import sysconfig
from pathlib import Path

from tfx_dags.common.errors import PipelineCompileError
from tfx_dags.common.pipeline_ref import PipelineRef


def pipeline_source(ref: PipelineRef) -> Path:
    """The file that defines the pipeline function, found without importing it."""
    if ref.is_file:
        path = Path(ref.module)
        if not path.is_file():
            raise PipelineCompileError(f"pipeline file {path} does not exist")
        return path
    try:
        spec = importlib.util.find_spec(ref.module)
    except (ImportError, ValueError) as error:
        raise PipelineCompileError(f"cannot locate module {ref.module!r}: {error}") from None
    if spec is None or not spec.origin or not Path(spec.origin).is_file():
        raise PipelineCompileError(
            f"module {ref.module!r} not found; is its package installed or on sys.path?"
        )
    return Path(spec.origin)


def source_files(ref: PipelineRef, source: Path) -> list[Path]:
    """Files whose change may change the pipeline: its whole top-level package (or folder)."""
    if ref.is_file:
        top = source.parent
    else:
        package = importlib.util.find_spec(ref.module.partition(".")[0])
        locations = list(package.submodule_search_locations or []) if package else []
        if not locations:  # a top-level module rather than a package
            return [source]
        top = Path(locations[0])
    return [path for path in sorted(top.rglob("*.py")) if "__pycache__" not in path.parts]


def user_code_path(ref: PipelineRef) -> Path | None:
    """The folder on this process's ``sys.path`` that a dotted reference's top-level package
    (or module) is imported from, when it is the user's own code rather than an installed
    distribution: Airflow puts the DAG folder there, so a team keeps its pipeline packages
    beside its DAG files; PYTHONPATH and ``.pth`` files add others. The compile and every
    node put it first on their path (the manifest's ``python_path``), so that the TFX
    environment needs nothing installed or set for it. None for a file reference (the
    compile takes the file's folder), for an installed package, and for tfx_dags itself."""
    top = ref.module.partition(".")[0]
    if ref.is_file or top == "tfx_dags":
        return None
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return None
    locations = list(spec.submodule_search_locations or []) if spec else []
    location = locations[0] if locations else spec.origin if spec else None
    if not location or not Path(location).exists():
        return None
    folder = Path(os.path.abspath(location)).parent
    installed = {Path(sysconfig.get_paths()[key]).resolve() for key in ("purelib", "platlib")}
    on_path = {Path(os.path.abspath(entry or os.curdir)).resolve() for entry in sys.path}
    resolved = folder.resolve()
    if resolved in installed or resolved not in on_path:
        return None  # installed, or found by an import hook (an editable install's finder)
    return folder
