"""``tfx-dags check``: what a user's CI needs to know before deploying a DAG folder.

One problem per line, ``FILE: DAG: reason``: a DAG file that does not load, one that imports
TensorFlow, TFX or Beam at parse time, a pipeline that does not compile, a task in a pool
that is neither in the pools file nor in Airflow's database, a task on a queue no setting
declares, a DAG without an owner or without retries.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tfx_dags.airflow import pools
from tfx_dags.cli.compile import CompileResult
from tfx_dags.cli.dag_folder import ParsedFolder, dag_file, one_line
from tfx_dags.common import settings

# What the scheduler must never import: seconds of imports on every parse.
HEAVY_MODULES = (
    "tensorflow",
    "tfx",
    "apache_beam",
    "tensorflow_model_analysis",
    "tensorflow_transform",
    "tensorflow_data_validation",
    "ml_metadata",
)
AIRFLOW_DEFAULT_OWNER = "airflow"


@dataclass(frozen=True)
class Problem:
    file: str
    dag_id: str
    reason: str

    def line(self) -> str:
        return f"{self.file}: {self.dag_id or '-'}: {self.reason}"

    def row(self) -> dict[str, str]:
        return {"file": self.file, "dag_id": self.dag_id, "problem": self.reason}


def problems(folder: ParsedFolder, compiles: Iterable[CompileResult]) -> list[Problem]:
    found = [Problem(file, "", one_line(error)) for file, error in folder.import_errors.items()]
    # A pipeline that does not compile makes its DAG file an import error (listed above,
    # with the compile's reason); one the final parse no longer asks for is listed here.
    errors = "\n".join(folder.import_errors.values())
    found += [
        Problem(
            "", result.pipeline, f"pipeline {result.reference} does not compile: {result.entry}"
        )
        for result in compiles
        if result.status == "failed" and f"pipeline {result.reference} " not in errors
    ]
    found += heavy_imports(folder.folder)
    known_pools, where = known_pool_names()
    queues = settings.declared_queues()
    for dag in folder.dags.values():
        found += _dag_problems(dag, known_pools, where, queues)
    return sorted(found, key=lambda problem: (problem.file, problem.dag_id, problem.reason))


def _dag_problems(dag: Any, known_pools: set[str], where: str, queues: set[str]) -> list[Problem]:
    file, found = dag_file(dag), []

    def problem(reason: str) -> None:
        found.append(Problem(file, dag.dag_id, reason))

    for task in dag.tasks:
        if task.pool not in known_pools:
            problem(f"task {task.task_id} uses pool {task.pool!r}, which is not in {where}")
        if task.queue not in queues:
            problem(
                f"task {task.task_id} runs on queue {task.queue!r}, which no setting declares "
                f"(declared: {sorted(queues)}; TFX_DAGS_EXTRA_QUEUES adds queues)"
            )
    owners = {str(task.owner or "") for task in dag.tasks}
    if not dag.tasks or owners & {"", AIRFLOW_DEFAULT_OWNER}:
        problem(f"no owner: set owner= (Airflow's default {AIRFLOW_DEFAULT_OWNER!r} names nobody)")
    without_retries = sorted(task.task_id for task in dag.tasks if not task.retries)
    if without_retries:
        problem(f"no retries for tasks {without_retries}: set retries= (at least 1)")
    return found


def known_pool_names() -> tuple[set[str], str]:
    """The pools the pools file declares, and those Airflow's database has (when reachable)."""
    names = pools.provisioned_pool_names()
    where = f"the pools file {settings.pools_file()}"
    try:
        from airflow.models.pool import Pool

        names |= {str(pool.pool) for pool in Pool.get_pools()}
        where += " nor in Airflow's database"
    except Exception:  # noqa: BLE001 - no database here (a CI step): the file is the truth
        where += " (Airflow's database not reachable)"
    return names, where


def heavy_imports(folder: Path) -> list[Problem]:
    """DAG files that import TensorFlow, TFX or Beam when parsed, found in one fresh
    interpreter that imports them in turn (Airflow itself imported first)."""
    from airflow.utils.file import list_py_file_paths

    files = [str(path) for path in list_py_file_paths(str(folder))]
    script = f"""
import importlib.util, json, sys
import airflow.sdk
from tfx_dags.airflow import compile_process

def _no_compile(*args, **kwargs):
    raise RuntimeError("not compiled again by the import check")

# The pipelines were compiled (or failed) just before: files are only imported here.
compile_process.compile_into = _no_compile
sys.path.append({str(folder)!r})  # as Airflow puts its dags_folder on the path
heavy = {HEAVY_MODULES!r}
found = {{}}
for index, path in enumerate({files!r}):
    before = set(sys.modules)
    spec = importlib.util.spec_from_file_location(f"tfx_dags_check_{{index}}", path)
    try:
        spec.loader.exec_module(importlib.util.module_from_spec(spec))
    except BaseException:
        pass  # an import error is reported by the DAG processor's own parse
    new = sorted(m for m in set(sys.modules) - before if m.split(".")[0] in heavy)
    if new:
        found[path] = sorted({{m.split(".")[0] for m in new}})
print(json.dumps(found))
"""
    try:
        done = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, timeout=600
        )
    except subprocess.TimeoutExpired:
        return [Problem(str(folder), "", "the parse-time import check took over 600 s")]
    try:
        found = json.loads(done.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        return [
            Problem(str(folder), "", f"the parse-time import check failed: {done.stderr[-300:]}")
        ]
    return [
        Problem(
            path, "", f"imports {', '.join(modules)} at parse time (import them inside functions)"
        )
        for path, modules in found.items()
    ]
