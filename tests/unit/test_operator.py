"""The operator's subprocess handling, with real process trees (no TensorFlow needed)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from airflow.sdk.exceptions import AirflowException

from tfx_dags.operators import TfxNodeOperator, terminate_process_group

# A parent that starts a child which ignores SIGTERM, prints both pids, then waits forever:
# the shape of a node whose Beam or TensorFlow workers outlive a polite stop.
STUBBORN_TREE = textwrap.dedent(
    """
    import signal, subprocess, sys, time
    child = subprocess.Popen([sys.executable, "-c",
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(300)"])
    print(child.pid, flush=True)
    time.sleep(300)
    """
)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead but still listed until its parent reaps it.
    status = Path(f"/proc/{pid}/status")
    return status.exists() and "zombie" not in status.read_text()


def wait_until_gone(pids: list[int], within_s: float) -> list[int]:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline and any(alive(pid) for pid in pids):
        time.sleep(0.05)
    return [pid for pid in pids if alive(pid)]


def test_the_whole_group_is_killed_even_a_child_that_ignores_sigterm() -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", STUBBORN_TREE], stdout=subprocess.PIPE, start_new_session=True
    )
    assert process.stdout is not None
    child = int(process.stdout.readline())
    terminate_process_group(process, grace_s=0.5)
    assert wait_until_gone([process.pid, child], within_s=5) == []


def test_on_kill_stops_a_running_node_and_fails_the_task(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Stands in for the TFX interpreter: the operator must stop whatever the node starts.
    fake_python = tmp_path / "python"
    fake_python.write_text(f"#!{sys.executable}\n{STUBBORN_TREE}")
    fake_python.chmod(0o755)
    monkeypatch.setenv("TFX_DAGS_TFX_PYTHON", str(fake_python))
    operator = TfxNodeOperator(
        task_id="Trainer", pipeline_ir="/x/pipeline_ir.pb", node_id="Trainer"
    )
    failure: list[BaseException] = []

    def execute() -> None:
        try:
            operator.execute({"run_id": "manual__1"})
        except BaseException as error:  # noqa: BLE001 - the test inspects it
            failure.append(error)

    worker = threading.Thread(target=execute)
    worker.start()
    deadline = time.monotonic() + 10
    while operator._hook is None or operator._hook.sub_process is None:
        assert time.monotonic() < deadline, "the node process never started"
        time.sleep(0.05)
    leader = operator._hook.sub_process.pid
    time.sleep(0.5)  # let the child start
    children = [int(p) for p in Path(f"/proc/{leader}/task/{leader}/children").read_text().split()]
    operator.on_kill()
    worker.join(timeout=10)
    assert not worker.is_alive()
    assert wait_until_gone([leader, *children], within_s=5) == []
    assert len(failure) == 1 and isinstance(failure[0], AirflowException)
    assert "TFX node Trainer failed with exit code -15" in str(failure[0])


def test_the_node_command_is_an_argument_list_that_keeps_values_verbatim() -> None:
    operator = TfxNodeOperator(task_id="Pusher", pipeline_ir="/ir.pb", node_id="Pusher")
    hostile = "manual__x; rm -rf / $(reboot)"
    command = operator.node_command(hostile)
    assert command[1:] == [
        "-m", "tfx_dags.runner.node",
        "--pipeline-ir", "/ir.pb",
        "--node-id", "Pusher",
        "--run-id", hostile,
    ]  # fmt: skip
