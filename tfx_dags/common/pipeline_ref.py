"""Where a pipeline definition comes from, as a DAG file names it: one kind per form.

- ``DottedPipeline``, ``package.module:function``: a function of an importable module;
- ``PipelineFile``, ``/abs/path/file.py:function``: a function of a Python file;
- ``RunnerFile``, ``/abs/path/file.py``: a file that hands its pipeline to a TFX runner
  (``LocalDagRunner().run(...)``, ...); it builds its pipeline, names it and roots it itself.

Each kind knows what the factory and the compile cache ask of it: its compile-cache folder
(``cache_name``), the arguments its compile passes (``compile_kwargs``), and where its code is
(``locate``: the defining file, the files whose change may change the pipeline, and the folder
a dotted reference's package is imported from). The TFX side's ``load_definition`` runs each
kind its own way. Read by the factory (Airflow environment) and by the compile step (TFX
environment): standard library only.
"""

from __future__ import annotations

import copy
import hashlib
import importlib.util
import os
import re
import sys
import sysconfig
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from tfx_dags.common import settings
from tfx_dags.common.errors import ConfigError, PipelineCompileError

# What the factory passes a pipeline function besides its pipeline_kwargs (a DAG file's
# pipeline_kwargs may not set them).
FACTORY_ARGUMENTS = ("pipeline_name", "pipeline_root")
_DOTTED = r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*"
_PIPELINE_REF = re.compile(
    rf"^(?:(?P<module>{_DOTTED})|(?P<file>/.+\.py))(?::(?P<function>[A-Za-z_]\w*))?$"
)


@dataclass(frozen=True)
class PipelineSources:
    """Where a pipeline's code is, found without importing it (``PipelineRef.locate``)."""

    # The file that defines the pipeline.
    source: Path
    # Files whose change may change the pipeline: its whole top-level package (or folder).
    # The compile cache's key hashes them.
    files: tuple[Path, ...]
    # The folder on this process's sys.path that a dotted reference's package is imported
    # from, when it is the user's own code: the compile and every node put it first on their
    # path (the manifest's ``python_path``). None for files, installed packages and tfx_dags.
    user_code: Path | None = None


class _PipelineFunction:
    """A function that returns the pipeline, called with ``pipeline_name`` (the DAG id, which
    names the pipeline and its compile-cache folder), ``pipeline_root`` (the deployment's root
    for it) and the DAG's ``pipeline_kwargs``."""

    takes_kwargs: ClassVar[bool] = True
    names_itself: ClassVar[bool] = False

    def cache_name(self, dag_id: str) -> str:
        return dag_id

    def compile_kwargs(self, dag_id: str, pipeline_kwargs: Mapping[str, Any]) -> dict[str, Any]:
        # The DAG file may share pipeline_kwargs with other DAGs: never change the caller's.
        return {
            **copy.deepcopy(dict(pipeline_kwargs)),
            "pipeline_name": dag_id,
            "pipeline_root": str(settings.pipeline_root(dag_id)),
        }


@dataclass(frozen=True)
class DottedPipeline(_PipelineFunction):
    """``package.module:function``: a function of an importable module."""

    module: str
    function: str

    def __str__(self) -> str:
        return f"{self.module}:{self.function}"

    def locate(self) -> PipelineSources:
        source = self._source()
        return PipelineSources(source, tuple(self._files(source)), _user_code_path(self.module))

    def _source(self) -> Path:
        try:
            spec = importlib.util.find_spec(self.module)
        except (ImportError, ValueError) as error:
            raise PipelineCompileError(f"cannot locate module {self.module!r}: {error}") from None
        if spec is None or not spec.origin or not Path(spec.origin).is_file():
            raise PipelineCompileError(
                f"module {self.module!r} not found; is its package installed or on sys.path?"
            )
        return Path(spec.origin)

    def _files(self, source: Path) -> list[Path]:
        package = importlib.util.find_spec(self.module.partition(".")[0])
        locations = list(package.submodule_search_locations or []) if package else []
        if not locations:  # a top-level module rather than a package
            return [source]
        return _python_files(Path(locations[0]))


@dataclass(frozen=True)
class _InFile:
    """A reference to an absolute ``.py`` path; its folder is its code."""

    path: str

    def locate(self) -> PipelineSources:
        source = Path(self.path)
        if not source.is_file():
            raise PipelineCompileError(f"pipeline file {source} does not exist")
        return PipelineSources(source, tuple(_python_files(source.parent)))


@dataclass(frozen=True)
class PipelineFile(_PipelineFunction, _InFile):
    """``/abs/path/file.py:function``: a function of a Python file. The file may also hand a
    pipeline to a TFX runner under ``__main__``."""

    function: str

    def __str__(self) -> str:
        return f"{self.path}:{self.function}"


@dataclass(frozen=True)
class RunnerFile(_InFile):
    """``/abs/path/file.py``: a file that hands its pipeline to a TFX runner. It names and
    roots its pipeline itself, as it did for its runner: no arguments, and the DAG id is the
    pipeline's name, which only its compile tells."""

    takes_kwargs: ClassVar[bool] = False
    names_itself: ClassVar[bool] = True

    def __str__(self) -> str:
        return self.path

    def cache_name(self, dag_id: str = "") -> str:
        """The file's name and a digest of its path, so that two files of one name stay
        apart; the DAG id is not known before the compile."""
        return f"{Path(self.path).stem}.{hashlib.sha256(self.path.encode()).hexdigest()[:8]}"

    def compile_kwargs(self, dag_id: str, pipeline_kwargs: Mapping[str, Any]) -> dict[str, Any]:
        return {}


PipelineRef = DottedPipeline | PipelineFile | RunnerFile


def parse_pipeline_ref(value: str) -> PipelineRef:
    """Parse ``package.module:function``, ``/abs/path/file.py:function`` or, for a file that
    hands its pipeline to a TFX runner (``LocalDagRunner().run(...)``, ...),
    ``/abs/path/file.py``."""
    match = _PIPELINE_REF.match(value) if isinstance(value, str) else None
    if match is None or (match["module"] and not match["function"]):
        raise ConfigError(
            f"pipeline={value!r} is not a pipeline reference; use 'package.module:function' "
            "or '/absolute/path/file.py:function' naming a function that returns a tfx Pipeline"
            " (or '/absolute/path/file.py' for a file that hands its pipeline to a TFX runner)"
        )
    if match["module"]:
        return DottedPipeline(match["module"], match["function"])
    if match["function"]:
        return PipelineFile(match["file"], match["function"])
    return RunnerFile(match["file"])


def _python_files(top: Path) -> list[Path]:
    return [path for path in sorted(top.rglob("*.py")) if "__pycache__" not in path.parts]


def _user_code_path(module: str) -> Path | None:
    """The folder on this process's ``sys.path`` that ``module``'s top-level package (or
    module) is imported from, when it is the user's own code rather than an installed
    distribution: Airflow puts the DAG folder there, so a team keeps its pipeline packages
    beside its DAG files; PYTHONPATH and ``.pth`` files add others. The TFX environment then
    needs nothing installed or set for it. None for an installed package and for tfx_dags."""
    top = module.partition(".")[0]
    if top == "tfx_dags":
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
