"""The module names of tfx-dags 0.1's flat layout, kept importable after the re-layout.

``import tfx_dags.factory`` (or ``python -m tfx_dags.pools``) still works: it warns once with
the new name and hands over the very module object, so settings patched through one name are
seen through the other. Compiled pipelines and users' DAG files and modules written against
the old names keep running; the warning appears among the DAG's import warnings in Airflow.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import warnings
from types import CodeType, ModuleType

MOVED = {
    "tfx_dags.factory": "tfx_dags.airflow.factory",
    "tfx_dags.config": "tfx_dags.airflow.dag_config",
    "tfx_dags.params": "tfx_dags.airflow.params",
    "tfx_dags.compiled": "tfx_dags.airflow.compile_cache",
    "tfx_dags.operators": "tfx_dags.airflow.operators",
    "tfx_dags.pools": "tfx_dags.airflow.pools",
    "tfx_dags.migration": "tfx_dags.airflow.migration",
    "tfx_dags.errors": "tfx_dags.common.errors",
    "tfx_dags.settings": "tfx_dags.common.settings",
    "tfx_dags.graph": "tfx_dags.common.graph",
    "tfx_dags.node_process": "tfx_dags.node_server.client",
    "tfx_dags.runner.protocol": "tfx_dags.node_server.protocol",
    "tfx_dags.runner.server": "tfx_dags.node_server.server",
    "tfx_dags.runner.beam_worker": "tfx_dags.node_server.beam_workers",
    "tfx_dags.runner.metadata": "tfx_dags.mlmd.connection",
    "tfx_dags.runner.errors": "tfx_dags.runner.error_report",
    "tfx_dags.pipelines": "tfx_dags.authoring.pipelines",
    "tfx_dags.trainers": "tfx_dags.authoring.trainer_executors",
    "tfx_dags.training": "tfx_dags.authoring.distribution",
    "tfx_dags.estimators": "tfx_dags.authoring.estimators",
    "tfx_dags.keras_export": "tfx_dags.authoring.keras_export",
    "tfx_dags.beam": "tfx_dags.authoring.beam_args",
    "tfx_dags.demo": "tfx_dags.dev.demo",
    "tfx_dags.local_airflow": "tfx_dags.dev.local_airflow",
}


def _warn(old: str, new: str) -> None:
    warnings.warn(
        f"{old} moved to {new} (tfx-dags' folders now follow its architecture: "
        "docs/architecture.md); import the new name",
        DeprecationWarning,
        stacklevel=4,
    )


class _MovedModuleLoader(importlib.abc.Loader):
    def __init__(self, new: str) -> None:
        self._new = new

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return None  # a placeholder, replaced by the moved module in exec_module

    def exec_module(self, module: ModuleType) -> None:
        _warn(module.__name__, self._new)
        # The import system returns what sys.modules holds once this returns: the moved
        # module itself, not a copy.
        sys.modules[module.__name__] = importlib.import_module(self._new)

    def get_code(self, fullname: str) -> CodeType | None:
        """``python -m OLD`` runs the moved module's code as ``__main__``."""
        _warn(fullname, self._new)
        spec = importlib.util.find_spec(self._new)
        loader = spec.loader if spec else None
        if not isinstance(loader, importlib.abc.InspectLoader):
            return None
        return loader.get_code(self._new)


class MovedModuleFinder(importlib.abc.MetaPathFinder):
    def find_spec(
        self, fullname: str, path: object = None, target: object = None
    ) -> importlib.machinery.ModuleSpec | None:
        new = MOVED.get(fullname)
        if new is None:
            return None
        return importlib.machinery.ModuleSpec(fullname, _MovedModuleLoader(new))


def install() -> None:
    if not any(isinstance(finder, MovedModuleFinder) for finder in sys.meta_path):
        sys.meta_path.append(MovedModuleFinder())
