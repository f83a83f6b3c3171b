"""The operator that runs one TFX node as a subprocess of the TFX environment."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Mapping
from typing import Any

from airflow.providers.standard.hooks.subprocess import SubprocessHook
from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowException

from tfx_dags import settings
from tfx_dags.runner.errors import NODE_ERROR_MARKER


class TfxNodeOperator(BaseOperator):
    """Run one node of a compiled TFX pipeline with the TFX environment's interpreter.

    The node's output streams into the task log. A kill or an execution timeout ends the
    node's whole process group (Beam and TensorFlow workers included): SIGTERM first, SIGKILL
    after ``TFX_DAGS_KILL_GRACE`` seconds. A non-zero exit fails the task with the node's
    error in the message.

    Args:
        pipeline_ir: path of the compiled ``pipeline_ir.pb``.
        node_id: the TFX node to run.
        node_type: the node's TFX class, shown in the UI.
        node_env: extra environment variables for the node's process. Default none.
    """

    ui_color = "#fbe3c3"
    template_fields = ()

    def __init__(
        self,
        *,
        pipeline_ir: str,
        node_id: str,
        node_type: str = "",
        node_env: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.pipeline_ir = pipeline_ir
        self.tfx_node_id = node_id
        self.node_type = node_type
        self.node_env = dict(node_env or {})
        self._hook: SubprocessHook | None = None

    def node_command(self, run_id: str) -> list[str]:
        """Argument list only: no shell ever sees the run id or any other value."""
        return [
            str(settings.tfx_python()), "-m", "tfx_dags.runner.node",
            "--pipeline-ir", self.pipeline_ir,
            "--node-id", self.tfx_node_id,
            "--run-id", run_id,
        ]  # fmt: skip

    def execute(self, context: Any) -> None:
        self._hook = SubprocessHook()
        env = {**os.environ, **self.node_env}
        try:
            result = self._hook.run_command(self.node_command(context["run_id"]), env=env)
        except BaseException:
            # Timeouts and kills arrive here as exceptions; the node must not outlive the task.
            self.on_kill()
            raise
        if result.exit_code != 0:
            reason = result.output
            if reason.startswith(NODE_ERROR_MARKER):
                reason = reason[len(NODE_ERROR_MARKER) :]
            raise AirflowException(
                f"TFX node {self.tfx_node_id} failed with exit code {result.exit_code}: {reason}"
            )

    def on_kill(self) -> None:
        process = self._hook.sub_process if self._hook else None
        if process is not None:
            terminate_process_group(process, grace_s=settings.kill_grace_s())


def terminate_process_group(process: subprocess.Popen[bytes], *, grace_s: float) -> None:
    """SIGTERM the process's group, SIGKILL it after ``grace_s``, then sweep what is left.

    The node process leads its own session (start_new_session), so its group holds every
    Beam worker and TensorFlow helper it started.
    """
    group = process.pid
    _signal_group(group, signal.SIGTERM)
    try:
        process.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        pass
    # The leader may be gone while its workers live on; SIGKILL reaches them through the group.
    _signal_group(group, signal.SIGKILL)
    process.wait()


def _signal_group(group: int, signum: signal.Signals) -> None:
    try:
        os.killpg(group, signum)
    except (ProcessLookupError, PermissionError):
        pass
