"""A node's process group dies with its task, even when the task process is SIGKILLed.

Real process trees: a "task" process starts a "node" as a session leader (as SubprocessHook
does); the node ties itself to its parent and starts a worker that ignores SIGTERM (the shape
of a Beam or TensorFlow helper).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.support.processes import alive, wait_until_gone

# Real processes, no DAG run: in make test-fast.
pytestmark = pytest.mark.quick

NODE = textwrap.dedent(
    """
    import os, subprocess, sys, time
    from tfx_dags.tfx_process.lifetime import tie_to_parent
    tie_to_parent()
    worker = subprocess.Popen([sys.executable, "-c",
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(300)"])
    with open(os.environ["PIDS_FILE"], "w") as handle:
        handle.write(f"{os.getpid()} {worker.pid}")
    time.sleep(300)
    """
)
TASK = textwrap.dedent(
    """
    import subprocess, sys, time
    subprocess.Popen([sys.executable, "-c", sys.argv[1]], start_new_session=True)
    time.sleep(300)
    """
)


def start_tree(tmp_path: Path) -> tuple[subprocess.Popen[bytes], list[int]]:
    pids_file = tmp_path / "pids"
    task = subprocess.Popen(
        [sys.executable, "-c", TASK, NODE], env={**os.environ, "PIDS_FILE": str(pids_file)}
    )
    deadline = time.monotonic() + 30
    while not (pids_file.exists() and len(pids_file.read_text().split()) == 2):
        assert time.monotonic() < deadline, "the node did not start"
        time.sleep(0.05)
    return task, [int(pid) for pid in pids_file.read_text().split()]


def test_sigkill_of_the_task_process_takes_the_node_and_its_workers_down(tmp_path: Path) -> None:
    task, (node, worker) = start_tree(tmp_path)
    assert alive(node) and alive(worker)
    task.kill()
    task.wait()
    assert wait_until_gone([node, worker], within_s=5) == []


def test_sigterm_to_the_node_kills_its_group_at_once(tmp_path: Path) -> None:
    task, (node, worker) = start_tree(tmp_path)
    try:
        os.kill(node, signal.SIGTERM)
        assert wait_until_gone([node, worker], within_s=5) == []
    finally:
        task.kill()
        task.wait()
