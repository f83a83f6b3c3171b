"""A DAG folder as Airflow's DAG processor sees it, and the pipelines its DAG files compile."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tfx_dags.airflow import compile_observer
from tfx_dags.airflow.compile_observer import CompileRequest
from tfx_dags.airflow.operators import TfxNodeOperator
from tfx_dags.common.errors import TfxDagsError


class CliError(TfxDagsError):
    """A one-line error of the ``tfx-dags`` command."""


@dataclass
class ParsedFolder:
    folder: Path
    dags: dict[str, Any] = field(default_factory=dict)
    import_errors: dict[str, str] = field(default_factory=dict)
    compiles: list[CompileRequest] = field(default_factory=list)

    def pipelines(self) -> Iterator[Any]:
        """The DAGs that run TFX nodes, by DAG id."""
        for dag_id in sorted(self.dags):
            if any(isinstance(task, TfxNodeOperator) for task in self.dags[dag_id].tasks):
                yield self.dags[dag_id]

    def dag(self, dag_id: str) -> Any:
        if dag_id not in self.dags:
            known = ", ".join(sorted(self.dags)) or "none"
            raise CliError(f"no DAG {dag_id!r} in {self.folder} (DAGs there: {known})")
        return self.dags[dag_id]


def default_folder() -> Path:
    """Airflow's ``[core] dags_folder``."""
    from airflow.configuration import conf

    return Path(conf.get("core", "dags_folder")).expanduser()


def parse(folder: Path | None, *, defer_compiles: bool = False) -> ParsedFolder:
    """Load every DAG file of the folder as the DAG processor does (``.airflowignore``
    included), recording each pipeline compile the files ask for. ``defer_compiles``: a
    pipeline missing from the compile cache is recorded, not compiled (its DAG is then an
    empty stand-in)."""
    from airflow.dag_processing.dagbag import DagBag

    folder = (folder or default_folder()).resolve()
    if not folder.is_dir():
        raise CliError(f"DAG folder {folder} does not exist")
    if str(folder) not in sys.path:
        sys.path.append(str(folder))  # as Airflow puts its dags_folder on the path
    with compile_observer.observe(defer_misses=defer_compiles) as compiles:
        bag = DagBag(dag_folder=str(folder), load_op_links=False)
    errors = {str(_absolute(folder, path)): error for path, error in bag.import_errors.items()}
    return ParsedFolder(folder, dict(bag.dags), errors, list(compiles))


def dag_file(dag: Any) -> str:
    return str(getattr(dag, "fileloc", "") or "")


def one_line(error: str) -> str:
    """The reason of an import error: the last line of its traceback."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    last = lines[-1] if lines else "import error"
    # "tfx_dags.common.errors.PipelineCompileError: ..." reads as "PipelineCompileError: ..."
    return re.sub(r"^(?:\w+\.)+(\w+(?:Error|Exception): )", r"\1", last)


def _absolute(folder: Path, path: str) -> Path:
    candidate = Path(path)
    return candidate if candidate.is_absolute() else folder / candidate
