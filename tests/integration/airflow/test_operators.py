"""The operator's subprocess handling, with real process trees (no TensorFlow needed)."""

from __future__ import annotations

import os
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from airflow.sdk.exceptions import AirflowException, AirflowTaskTimeout
from airflow.sdk.execution_time.timeout import timeout

from tests.support.processes import wait_until_gone
from tfx_dags.airflow.operators import TfxNodeOperator
from tfx_dags.node_server.client import Ending, SpawnedProcess

# Real processes, no DAG run: in make test-fast.
pytestmark = pytest.mark.quick

# A parent that starts a child which ignores SIGTERM, prints both pids, then waits forever:
# the shape of a node whose Beam or TensorFlow workers outlive a polite stop.
# With PIDS_FILE set, both pids are also written there for the test to check.
STUBBORN_TREE = textwrap.dedent(
    """
    import os, signal, subprocess, sys, time
    child = subprocess.Popen([sys.executable, "-c",
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(300)"])
    if os.environ.get("PIDS_FILE"):
        with open(os.environ["PIDS_FILE"], "w") as handle:
            handle.write(f"{os.getpid()} {child.pid}")
    print(child.pid, flush=True)
    time.sleep(300)
    """
)


def test_the_whole_group_is_killed_even_a_child_that_ignores_sigterm() -> None:
    node = SpawnedProcess([sys.executable, "-c", STUBBORN_TREE], env=os.environ)
    child = int(next(node.output()))
    assert node.terminate(grace_s=0.5) == -15
    assert wait_until_gone([node.pid, child], within_s=5) == []
    assert node.ending == Ending(-15, stopped=True) and not node.ending.by_itself


def test_a_node_says_how_it_ended() -> None:
    assert ended_node("raise SystemExit(3)").ending == Ending(3)
    killed = ended_node("import os, signal; os.kill(os.getpid(), signal.SIGKILL)").ending
    assert killed == Ending(-9) and not killed.by_itself
    assert str(killed) == "exit code -9 (killed by signal SIGKILL)"
    assert Ending(3).by_itself and str(Ending(-15, stopped=True)).endswith("stopped by its task")


@pytest.fixture
def stubborn_node(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Stands in for the TFX interpreter: the operator must stop whatever a node starts."""
    fake_python = tmp_path / "python"
    fake_python.write_text(f"#!{sys.executable}\n{STUBBORN_TREE}")
    fake_python.chmod(0o755)
    monkeypatch.setenv("TFX_DAGS_TFX_PYTHON", str(fake_python))
    monkeypatch.setenv("TFX_DAGS_KILL_GRACE", "1")
    # A fresh process per node: tests/integration/node_server/test_server.py covers the served path.
    monkeypatch.setenv("TFX_DAGS_NODE_SERVER", "off")
    pids_file = tmp_path / "pids"
    monkeypatch.setenv("PIDS_FILE", str(pids_file))
    # The node sees only allow-listed variables (tfx_dags.airflow.node_env).
    monkeypatch.setenv("TFX_DAGS_NODE_ENV_ALLOW", "PIDS_FILE")
    return pids_file


def test_on_kill_stops_a_running_node_and_fails_the_task(stubborn_node: Path) -> None:
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
    while operator._node is None:
        assert time.monotonic() < deadline, "the node process never started"
        time.sleep(0.05)
    while not stubborn_node.exists() or not stubborn_node.read_text():
        assert time.monotonic() < deadline, "the node never started its child"
        time.sleep(0.05)
    operator.on_kill()
    worker.join(timeout=10)
    assert not worker.is_alive()
    pids = [int(pid) for pid in stubborn_node.read_text().split()]
    assert wait_until_gone(pids, within_s=5) == []
    assert len(failure) == 1 and isinstance(failure[0], AirflowException)
    assert "TFX node Trainer failed with exit code -15" in str(failure[0])


def test_an_execution_timeout_ends_the_node_and_its_workers(stubborn_node: Path) -> None:
    # The same wrapper Airflow's task runner puts around execute() for execution_timeout.
    operator = TfxNodeOperator(task_id="Transform", pipeline_ir="/x/ir.pb", node_id="Transform")
    with pytest.raises(AirflowTaskTimeout), timeout(2):
        operator.execute({"run_id": "scheduled__1"})
    pids = [int(pid) for pid in stubborn_node.read_text().split()]
    assert len(pids) == 2
    assert wait_until_gone(pids, within_s=5) == []


def ended_node(code: str) -> SpawnedProcess:
    """A node process that has run ``code`` to its end."""
    node = SpawnedProcess([sys.executable, "-c", code], env=os.environ)
    node.wait(timeout=30)
    return node


def test_the_failure_callback_closes_what_a_killed_or_lost_node_left_open(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from tfx_dags.airflow import operators

    asked: list[tuple[str, tuple[str, ...], dict[str, object]]] = []

    def ask(module: str, *args: str, **kwargs: object) -> list[int]:
        asked.append((module, args, kwargs))
        return [7]

    monkeypatch.setattr(operators.mlmd_query, "ask", ask)
    monkeypatch.setenv("AIRFLOW__CORE__FERNET_KEY", "not-for-users")

    def dags_own(context: object) -> None: ...

    operator = TfxNodeOperator(
        task_id="Trainer",
        pipeline_ir="/ir.pb",
        node_id="Trainer",
        tfx_env="tfx116",
        on_failure_callback=dags_own,
    )
    assert operator.on_failure_callback == [dags_own, operators.close_killed_execution]
    context = {"task": operator, "run_id": "manual__1", "params": {}}

    # A fresh operator (the DAG processor's, after a lost worker) cannot tell: it asks.
    operators.close_killed_execution(context)
    [(module, args, kwargs)] = asked
    assert module == "tfx_dags.queries.close_execution"
    assert args == (
        *("--pipeline-ir", "/ir.pb", "--node-id", "Trainer", "--run-id", "manual__1"),
        *("--reason", "task Trainer of run manual__1 failed with its node unfinished"),
    )
    assert kwargs["tfx_env"] == "tfx116" and kwargs["connection"] is False
    environ = kwargs["environ"]
    assert isinstance(environ, dict) and not [name for name in environ if "AIRFLOW" in name]
    logged = capsys.readouterr().out  # Airflow's task logger writes there
    assert "execution(s) [7] of node Trainer, left unfinished, closed as FAILED" in logged

    # A node that exited by itself (here with its error): TFX closed its execution.
    operator._node = ended_node("raise SystemExit(1)")
    operators.close_killed_execution(context)
    assert len(asked) == 1
    # A node killed by a signal (the out-of-memory killer): asked.
    operator._node = ended_node("import os, signal; os.kill(os.getpid(), signal.SIGKILL)")
    operators.close_killed_execution(context)
    assert len(asked) == 2
    operator._node = ended_node("pass")

    # Killed by its timeout or by Airflow: asked; a store that does not answer is a warning.
    operator.on_kill()

    def no_answer(module: str, *args: str, **kwargs: object) -> list[int]:
        raise operators.mlmd_query.MetadataQueryError("ML Metadata did not answer")

    monkeypatch.setattr(operators.mlmd_query, "ask", no_answer)
    operators.close_killed_execution(context)
    logged = capsys.readouterr().out
    assert "the node's unfinished execution not closed: ML Metadata did not answer" in logged
