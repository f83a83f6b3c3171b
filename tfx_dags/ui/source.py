"""What the TFX view knows, asked of the TFX environment (Airflow side; no TFX import).

ML Metadata's client lives in the TFX environment only, so every question runs
``python -m tfx_dags.queries.view_data`` there (``tfx_dags.airflow.mlmd_query``: forked by the
node server like a node, a few hundred milliseconds), with the ML Metadata connection the
tasks use. Evaluations and artifacts never change once written, so their answers are kept (a
small LRU per process).

One store holds the runs of every TFX line of the deployment (ML Metadata 1.15 and 1.16 share
its schema); the pipelines are listed with the default TFX environment, and a pipeline's runs,
evaluations and artifacts are read with an environment of the TFX line that made them (as
recorded on its pipeline context), so TFMA and TFDV read what their own version wrote.

Each DAG's pipeline is read as the DAG itself says it: the compiled IR its tasks run, in
its latest serialized version in Airflow's metadata DB (``tfx_dags.ui.dag_pipelines``), and
that compile's manifest: its pipeline root, and the ML Metadata store of its own that a
pipeline written for TFX's runners declares (``runner_file_dag`` files keep theirs). A
pipeline without a DAG (or whose compile is gone) has the default root and no store of its
own, as does every pipeline when that DB cannot be read (a warning in the log).
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

from tfx_dags.airflow import mlmd_query
from tfx_dags.airflow.compile_entries import CompiledPipeline
from tfx_dags.common import settings, tfx_envs
from tfx_dags.common.errors import ConfigError, TfxDagsError
from tfx_dags.common.reply import Outcome
from tfx_dags.ui.dag_pipelines import DagPipelines

CACHE_SIZE = 256

log = logging.getLogger(__name__)


class ViewSourceError(TfxDagsError):
    """The TFX environment could not answer (ML Metadata unreachable, a broken artifact)."""


class PageNotFound(ViewSourceError):
    """The view's 404: no such pipeline, run or artifact in ML Metadata, or artifact file
    (``queries/view_data.py``'s ``NotFound``, as the Airflow side raises it)."""


class ViewSource:
    """Questions about pipelines, runs and artifacts, answered from ML Metadata.

    Args:
        dags: where each DAG's compiled pipeline is read. Default: the serialized DAGs of
            this process's Airflow metadata DB.
    """

    def __init__(self, dags: DagPipelines | None = None) -> None:
        self._dags = dags or DagPipelines()
        self._kept: OrderedDict[tuple[str, ...], Any] = OrderedDict()
        self._lock = threading.Lock()
        self._lines: dict[str, str] = {}

    def pipelines(self) -> list[str]:
        own = [
            f"--own={name}={compiled.ir_path}"
            for name, compiled in sorted(self._compiled().items())
            if compiled.graph.metadata is not None
        ]
        try:
            answer = self._ask("pipelines", *own)
        except PageNotFound:
            return []  # no store yet: nothing has run
        self._lines = dict(answer.get("tfx_lines", {}))
        return list(answer["pipelines"])

    def tfx_line(self, name: str) -> str:
        """The TFX line of the pipeline's runs ("1.16"); "" where none is recorded."""
        if name not in self._lines:
            self.pipelines()
        return self._lines.get(name, "")

    def root(self, name: str) -> Path:
        """The pipeline's root: its DAG's compiled manifest's, else
        ``settings.pipeline_root``."""
        return _root(name, self._compiled(name).get(name))

    def pipeline(self, name: str, *, runs: int = 25) -> dict[str, Any]:
        return self._ask("pipeline", *self._where(name), "--runs", str(runs), pipeline=name)

    def run(self, name: str, run_id: str) -> dict[str, Any]:
        return self._ask("run", *self._where(name), "--run-id", run_id, pipeline=name)

    def evaluation(self, name: str, artifact_id: int) -> dict[str, Any]:
        return self._kept_answer(
            name, "evaluation", *self._where(name), "--artifact-id", str(artifact_id)
        )

    def artifact(self, name: str, artifact_id: int) -> dict[str, Any]:
        return self._kept_answer(
            name, "artifact", *self._where(name), "--artifact-id", str(artifact_id)
        )

    def _where(self, name: str) -> list[str]:
        """The pipeline, its root and, where it declares a store of its own, its compiled
        IR (which holds that store's connection), as its DAG names them."""
        compiled = self._compiled(name).get(name)
        args = ["--pipeline", name, "--pipeline-root", str(_root(name, compiled))]
        if compiled is not None and compiled.graph.metadata is not None:
            args += ["--pipeline-ir", str(compiled.ir_path)]
        return args

    def _compiled(self, name: str | None = None) -> dict[str, CompiledPipeline]:
        """The compiled pipeline of each DAG (of ``name``'s only, if given) that names one;
        none where Airflow's metadata DB cannot be read."""
        from sqlalchemy.exc import SQLAlchemyError

        try:
            if name is None:
                return self._dags.all()
            compiled = self._dags.get(name)
        except SQLAlchemyError as error:
            # The first line only: the statement and its parameters follow it.
            log.warning(
                "Airflow's metadata DB not read (%s): default pipeline roots, no pipeline's "
                "own ML Metadata store",
                str(error).splitlines()[0] if str(error) else type(error).__name__,
            )
            return {}
        return {} if compiled is None else {name: compiled}

    def _kept_answer(self, name: str, *args: str) -> dict[str, Any]:
        with self._lock:
            if args in self._kept:
                self._kept.move_to_end(args)
                return dict(self._kept[args])
        answer = self._ask(*args, pipeline=name)
        with self._lock:
            self._kept[args] = answer
            while len(self._kept) > CACHE_SIZE:
                self._kept.popitem(last=False)
        return answer

    def _ask(self, query: str, *args: str, pipeline: str | None = None) -> dict[str, Any]:
        """Ask ``query`` of the environment of ``pipeline``'s TFX line (default: the
        deployment's default environment)."""
        try:
            line = self.tfx_line(pipeline) if pipeline else ""
            tfx_env = tfx_envs.for_line(line) if line else tfx_envs.resolve()
        except ConfigError as error:
            raise ViewSourceError(f"no TFX environment to read ML Metadata with: {error}") from None
        try:
            reply = mlmd_query.ask_reply(
                "tfx_dags.queries.view_data", query, *args, tfx_env=tfx_env
            )
        except mlmd_query.MetadataQueryError as error:
            raise ViewSourceError(str(error)) from None
        if reply.outcome is Outcome.NOT_FOUND:
            raise PageNotFound(reply.message or "not found")
        if not reply.ok:
            raise ViewSourceError(f"reading {query} failed: {reply.message}")
        return dict(reply.result)


def _root(name: str, compiled: CompiledPipeline | None) -> Path:
    if compiled is not None and compiled.graph.pipeline_root:
        return Path(compiled.graph.pipeline_root)
    return settings.pipeline_root(name)
