"""The node server with real processes: a server of this interpreter, nothing preimported,
serving a stand-in node module (no TensorFlow needed)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from tests.support.processes import alive, wait_until_gone
from tfx_dags.node_server import client as node_client

# Real processes, no DAG run: in make test-fast.
pytestmark = pytest.mark.quick

FAKE_NODE = textwrap.dedent(
    """
    import os, subprocess, sys, time

    def main(args):
        if args[0] == "echo":
            print("args", args[1:], flush=True)
            print("env", os.environ.get("FAKE_NODE_VALUE"), file=sys.stderr, flush=True)
            print("cwd", os.getcwd(), "session leader", os.getsid(0) == os.getpid(), flush=True)
            return int(args[-1])
        if args[0] == "crash":
            raise RuntimeError("the node broke")
        if args[0] in ("stubborn", "tied", "deaf"):
            if args[0] == "deaf":  # the node itself ignores SIGTERM, not only its worker
                import signal
                signal.signal(signal.SIGTERM, signal.SIG_IGN)
            if args[0] == "tied":  # as the node runner does
                from tfx_dags.tfx_process.lifetime import tie_to_parent
                tie_to_parent()
            ignore_sigterm = "import signal; signal.signal(signal.SIGTERM, signal.SIG_IGN)"
            child = subprocess.Popen(
                [sys.executable, "-c", ignore_sigterm + "; import time; time.sleep(300)"])
            print(os.getpid(), child.pid, flush=True)
            time.sleep(300)
        return 0
    """
)


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """An environment whose nodes are served: a private server folder and the fake node."""
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "fake_node.py").write_text(FAKE_NODE)
    # Short, unlike tmp_path under xdist: a socket's path must fit in 108 bytes.
    server_dir = Path(tempfile.mkdtemp(prefix="tfx-dags-srv-test-")) / "srv"
    monkeypatch.setenv("TFX_DAGS_NODE_SERVER", "on")
    monkeypatch.setenv("TFX_DAGS_NODE_SERVER_DIR", str(server_dir))
    monkeypatch.setenv("TFX_DAGS_NODE_SERVER_IDLE", "30")
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "code")}
    yield env
    for log in server_dir.glob("*.sock.log"):
        for line in log.read_text().splitlines():
            if line.startswith("serving on"):  # "serving on PATH (pid N, ...)"
                pid = int(line.split("(pid ")[1].split(",")[0])
                if alive(pid):
                    os.kill(pid, signal.SIGTERM)
    shutil.rmtree(server_dir.parent, ignore_errors=True)


@pytest.fixture(autouse=True)
def no_preimports(monkeypatch: pytest.MonkeyPatch) -> None:
    """The server imports nothing up front here: this interpreter has no TensorFlow."""
    monkeypatch.setattr(node_client, "PREIMPORT", "")


def start(env: dict[str, str], *args: str) -> node_client.TfxProcess:
    return node_client.start([sys.executable, "-m", "fake_node", *args], env=env)


def test_a_served_node_gets_its_arguments_environment_and_directory(
    served: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    node = start({**served, "FAKE_NODE_VALUE": "x y"}, "echo", "a b", "3")
    assert isinstance(node, node_client.ServedProcess)
    lines = list(node.output())
    assert node.wait() == 3
    assert lines == ["args ['a b', '3']", "env x y", f"cwd {tmp_path} session leader True"]


def test_a_declared_environments_variables_reach_its_server_and_its_nodes(
    served: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # As TF_USE_LEGACY_KERAS for TFX 1.16: the server imports TensorFlow when it starts, so
    # the variable must be in the server's own environment, not only in each request's.
    declaration = {"line": {"python": sys.executable, "env": {"FAKE_NODE_VALUE": "declared"}}}
    monkeypatch.setenv("TFX_DAGS_TFX_ENVS", json.dumps(declaration))
    node = start({**served, "FAKE_NODE_VALUE": "the task's"}, "echo", "0")
    assert isinstance(node, node_client.ServedProcess)
    assert "env declared" in list(node.output()) and node.wait() == 0
    [socket_path] = Path(os.environ["TFX_DAGS_NODE_SERVER_DIR"]).glob("*.sock")
    declared = {"FAKE_NODE_VALUE": "declared"}
    assert socket_path == node_client.server_socket(Path(sys.executable), declared)
    assert socket_path != node_client.server_socket(Path(sys.executable))
    server_pid = int(Path(f"{socket_path}.pid").read_text())
    assert b"FAKE_NODE_VALUE=declared\0" in Path(f"/proc/{server_pid}/environ").read_bytes()
    print_value = "import os; print(os.environ['FAKE_NODE_VALUE'])"
    spawned = node_client.start([sys.executable, "-c", print_value], env=served)
    assert isinstance(spawned, node_client.SpawnedProcess)
    assert list(spawned.output()) == ["declared"] and spawned.wait() == 0


def test_nodes_of_one_interpreter_share_one_server(served: dict[str, str]) -> None:
    first, second = start(served, "echo", "0"), start(served, "echo", "0")
    assert [first.wait(), second.wait()] == [0, 0]
    assert first.pid != second.pid
    assert len(list(Path(os.environ["TFX_DAGS_NODE_SERVER_DIR"]).glob("*.sock"))) == 1


def test_a_node_that_raises_reports_its_traceback_and_fails(served: dict[str, str]) -> None:
    node = start(served, "crash")
    output = "\n".join(node.output())
    assert node.wait() == 1
    assert "RuntimeError: the node broke" in output


def test_a_served_node_deaf_to_sigterm_is_killed_after_its_wait_times_out(
    served: dict[str, str],
) -> None:
    # A timed-out wait must leave the connection readable: the kill that follows reads the
    # node's end from it.
    node = start(served, "deaf")
    pids = [int(pid) for pid in next(node.output()).split()]
    with pytest.raises(TimeoutError, match=f"node {node.pid} still runs"):
        node.wait(timeout=0.5)
    assert node.terminate(grace_s=0.5) == -signal.SIGKILL
    assert wait_until_gone(pids, within_s=5) == []


def test_run_past_its_timeout_kills_a_deaf_node_and_says_so(served: dict[str, str]) -> None:
    for env in (served, {**served, "TFX_DAGS_NODE_SERVER": "off"}):
        command = [sys.executable, "-c", "import signal, time; "
                   "signal.signal(signal.SIGTERM, signal.SIG_IGN); print('up', flush=True); "
                   "time.sleep(300)"]  # fmt: skip
        if env is served:
            command = [sys.executable, "-m", "fake_node", "deaf"]
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            node_client.run(command, env=env, timeout=1)
        assert time.monotonic() - started < 10


def test_terminate_ends_the_whole_group_of_a_served_node(served: dict[str, str]) -> None:
    node = start(served, "stubborn")
    pids = [int(pid) for pid in next(node.output()).split()]
    assert pids[0] == node.pid
    assert node.terminate(grace_s=0.5) == -signal.SIGTERM
    assert wait_until_gone(pids, within_s=5) == []


def test_a_node_whose_task_process_dies_is_killed_by_the_server(
    served: dict[str, str], tmp_path: Path
) -> None:
    # A task process (a client) that starts a stubborn node, reports its pids and waits.
    client = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                """
            import sys
            from tfx_dags.node_server import client as node_client
            node = node_client.start([sys.executable, "-m", "fake_node", "stubborn"],
                                      env=dict(__import__("os").environ))
            print(next(node.output()), flush=True)
            node.wait()
            """
            ),
        ],
        env=served,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert client.stdout is not None
    pids = [int(pid) for pid in client.stdout.readline().split()]
    client.kill()
    client.wait()
    assert wait_until_gone(pids, within_s=5) == []


def test_the_nodes_of_a_server_that_dies_die_with_it(served: dict[str, str]) -> None:
    node = start(served, "tied")
    pids = [int(pid) for pid in next(node.output()).split()]
    server = int(Path(f"/proc/{node.pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    os.kill(server, signal.SIGKILL)
    assert wait_until_gone(pids, within_s=5) == []


def test_a_server_that_cannot_start_means_a_fresh_process(
    served: dict[str, str], tmp_path: Path
) -> None:
    broken = tmp_path / "python"
    broken.write_text(
        f"#!{sys.executable}\nimport sys\n"
        "server = 'tfx_dags.server.node_server' in sys.argv\n"
        "sys.exit(1) if server else print('fresh', sys.argv[1:])\n"
    )
    broken.chmod(0o755)
    node = node_client.start([str(broken), "-m", "fake_node", "echo", "0"], env=served)
    assert isinstance(node, node_client.SpawnedProcess)
    assert list(node.output()) == ["fresh ['-m', 'fake_node', 'echo', '0']"]


def test_a_new_server_retires_the_older_ones_once_they_are_idle(
    served: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old_node = start(served, "stubborn")
    [old_socket] = Path(os.environ["TFX_DAGS_NODE_SERVER_DIR"]).glob("*.sock")
    # Changed code: the same interpreter's server gets another socket.
    new_socket = old_socket.with_name("node-server-changed-code.sock")
    monkeypatch.setattr(node_client, "server_socket", lambda python, variables=None: new_socket)
    new_node = start(served, "echo", "0")
    assert new_node.wait() == 0
    time.sleep(1)
    assert old_socket.exists(), "the old server left while its node still ran"
    assert old_node.terminate(grace_s=0.5) == -signal.SIGTERM
    deadline = time.monotonic() + 10
    while old_socket.exists():
        assert time.monotonic() < deadline, "the old server did not retire"
        time.sleep(0.1)
    assert node_client.connect(new_socket) is not None


def test_another_interpreters_server_keeps_serving(served: dict[str, str], tmp_path: Path) -> None:
    # Another TFX environment on the same worker (a virtualenv with tfx_dags on its path):
    # its server is not retired.
    other_env = tmp_path / "other-env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(other_env)], check=True)
    [site] = (other_env / "lib").glob("python3*/site-packages")
    (site / "tfx_dags.pth").write_text(f"{Path(node_client.__file__).parents[2]}\n")
    other_python = other_env / "bin" / "python"
    assert start(served, "echo", "0").wait() == 0
    [first_socket] = Path(os.environ["TFX_DAGS_NODE_SERVER_DIR"]).glob("*.sock")
    other = node_client.start([str(other_python), "-m", "fake_node", "echo", "0"], env=served)
    assert isinstance(other, node_client.ServedProcess) and other.wait() == 0
    time.sleep(1)
    assert node_client.connect(first_socket) is not None, "the first server was retired"
    assert node_client.connect(node_client.server_socket(other_python)) is not None


def test_a_server_replacing_a_retiring_one_starts_once_that_one_is_gone(
    served: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A retiring server has closed its listener but still holds the socket's lock: the
    # first replacement exits at once (exit 0); the client starts another, not waiting
    # SERVER_START_TIMEOUT_S for the first.
    spawned: list[int] = []
    real_spawn = node_client._spawn_server

    def spawn(python: Path, path: Path, env: Mapping[str, str]) -> subprocess.Popen[bytes]:
        spawned.append(1)
        if len(spawned) == 1:
            return subprocess.Popen([sys.executable, "-c", "pass"])
        return real_spawn(python, path, env)

    monkeypatch.setattr(node_client, "_spawn_server", spawn)
    monkeypatch.setattr(node_client, "SERVER_START_TIMEOUT_S", 60.0)
    started = time.monotonic()
    node = start(served, "echo", "0")
    assert isinstance(node, node_client.ServedProcess) and node.wait() == 0
    assert len(spawned) == 2 and time.monotonic() - started < 30


def test_the_server_folder_must_be_private(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o777)
    shared.chmod(0o777)
    with pytest.raises(PermissionError, match="private"):
        node_client.private_dir(shared)


def test_an_idle_server_exits(served: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TFX_DAGS_NODE_SERVER_IDLE", "0.5")
    assert start(served, "echo", "0").wait() == 0
    [socket_path] = Path(os.environ["TFX_DAGS_NODE_SERVER_DIR"]).glob("*.sock")
    deadline = time.monotonic() + 10
    while socket_path.exists():
        assert time.monotonic() < deadline, "the idle server is still serving"
        time.sleep(0.1)
