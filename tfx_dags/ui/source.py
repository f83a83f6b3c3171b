"""What the TFX view knows, asked of the TFX environment (Airflow side; no TFX import).

ML Metadata's client lives in the TFX environment only, so every question runs
``python -m tfx_dags.runner.view_data`` there, forked by the node server like a node (a few
hundred milliseconds), with the ML Metadata connection the tasks use. Evaluations and
artifacts never change once written, so their answers are kept (a small LRU per process).

One store holds the runs of every TFX line of the deployment (ML Metadata 1.15 and 1.16 share
its schema); the pipelines are listed with the default TFX environment, and a pipeline's runs,
evaluations and artifacts are read with an environment of the TFX line that made them (as
recorded on its pipeline context), so TFMA and TFDV read what their own version wrote.
"""

from __future__ import annotations

import json
import tempfile
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

from tfx_dags.airflow import node_env
from tfx_dags.common import settings, tfx_envs
from tfx_dags.common.contract import URI_ENV
from tfx_dags.common.errors import ConfigError, TfxDagsError
from tfx_dags.node_server import client as node_client

QUERY_TIMEOUT_S = 120.0
CACHE_SIZE = 256


class ViewSourceError(TfxDagsError):
    """The TFX environment could not answer (ML Metadata unreachable, a broken artifact)."""


class NotFound(ViewSourceError):
    """No such pipeline, run or artifact in ML Metadata."""


def metadata_uri() -> str | None:
    """ML Metadata's URI from the Airflow connection the tasks use (``TFX_DAGS_METADATA_CONN_ID``),
    read in the api-server; None where it does not exist (the SQLite file then)."""
    from airflow.exceptions import AirflowNotFoundException
    from airflow.models.connection import Connection

    try:
        connection = Connection.get_connection_from_secrets(settings.metadata_conn_id())
    except AirflowNotFoundException:
        return None
    return str(connection.get_uri())


class ViewSource:
    """Questions about pipelines, runs and artifacts, answered from ML Metadata."""

    def __init__(self) -> None:
        self._kept: OrderedDict[tuple[str, ...], Any] = OrderedDict()
        self._lock = threading.Lock()
        self._lines: dict[str, str] = {}

    def pipelines(self) -> list[str]:
        try:
            answer = self._ask("pipelines")
        except NotFound:
            return []  # no store yet: nothing has run
        self._lines = dict(answer.get("tfx_lines", {}))
        return list(answer["pipelines"])

    def tfx_line(self, name: str) -> str:
        """The TFX line of the pipeline's runs ("1.16"); "" where none is recorded."""
        if name not in self._lines:
            self.pipelines()
        return self._lines.get(name, "")

    def pipeline(self, name: str, *, runs: int = 25) -> dict[str, Any]:
        return self._ask("pipeline", "--pipeline", name, "--runs", str(runs), pipeline=name)

    def run(self, name: str, run_id: str) -> dict[str, Any]:
        return self._ask("run", "--pipeline", name, "--run-id", run_id, pipeline=name)

    def evaluation(self, name: str, artifact_id: int) -> dict[str, Any]:
        return self._kept_answer(
            name, "evaluation", "--pipeline", name, "--artifact-id", str(artifact_id)
        )

    def artifact(self, name: str, artifact_id: int) -> dict[str, Any]:
        return self._kept_answer(
            name, "artifact", "--pipeline", name, "--artifact-id", str(artifact_id)
        )

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
        # The allow-listed environment (tfx_dags.airflow.node_env): none of Airflow's secrets.
        env = tfx_env.environ(node_env.allowed())
        uri = metadata_uri()
        if uri:
            env[URI_ENV] = uri
        python = tfx_env.python
        with tempfile.TemporaryDirectory(prefix="tfx-view-") as scratch:
            output = Path(scratch) / "answer.json"
            command = [
                str(python),
                "-m",
                "tfx_dags.runner.view_data",
                query,
                *args,
                "--output",
                str(output),
            ]
            try:
                returncode, printed = node_client.run(command, env=env, timeout=QUERY_TIMEOUT_S)
            except TimeoutError:
                raise ViewSourceError(
                    f"ML Metadata did not answer {query!r} within {QUERY_TIMEOUT_S:g} s"
                ) from None
            if returncode != 0 or not output.is_file():
                last = [line for line in printed.splitlines() if line.strip()][-3:]
                raise ViewSourceError(
                    f"reading ML Metadata ({query}) failed with exit code {returncode}: "
                    + " | ".join(last)
                )
            answer = json.loads(output.read_text())
        if answer.get("error") == "not_found":
            raise NotFound(str(answer.get("message", "not found")))
        if answer.get("error"):
            raise ViewSourceError(f"reading {query} failed: {answer.get('message', '')}")
        return dict(answer)
