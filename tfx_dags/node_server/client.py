"""Start a command of the TFX environment and follow it: forked by the warm node server, or a
fresh interpreter. Every TFX-side command travels this way: a node (``runner.node``), a
compile (``compiler.compile``) and the ML Metadata queries (``queries/``); the server is
named for the nodes, its main work.

Either way the process leads its own process group (a group kill reaches its Beam and
TensorFlow workers), writes stdout and stderr into one pipe the caller reads, and ends with a
return code as ``subprocess`` reports it (negative: killed by that signal). The node server
(``tfx_dags.server.node_server``) is started on first use, detached from any task, and reused by
every task of this machine's user until it idles out.
"""

from __future__ import annotations

import fcntl
import hashlib
import io
import json
import logging
import os
import select
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from tfx_dags.common import settings, tfx_envs
from tfx_dags.common.code_version import NODE_SERVER_FOLDERS, code_version
from tfx_dags.common.contract import URI_ENV
from tfx_dags.common.reply import REPLY_OPTION, NoReply, Reply, ended, read_reply
from tfx_dags.node_server.protocol import send_request, signal_group

log = logging.getLogger(__name__)

SERVER_START_TIMEOUT_S = 180.0
# Modules the server imports before serving, comma-separated; None: the server's default
# (TensorFlow, TFX, Beam and the components' libraries).
PREIMPORT: str | None = None


@dataclass(frozen=True)
class Ending:
    """How a node's process ended: its return code as ``subprocess`` gives it (negative: the
    signal that killed it), and whether this side stopped it (``terminate``: the task's
    timeout or kill)."""

    returncode: int
    stopped: bool = False

    @property
    def by_itself(self) -> bool:
        """It ran to its own end, even a failing one: neither a signal nor this side ended
        it (TFX's launcher then closed the execution it had recorded)."""
        return self.returncode >= 0 and not self.stopped

    def __str__(self) -> str:
        return ended(self.returncode) + (", stopped by its task" if self.stopped else "")


class TfxProcess:
    """A running TFX-side command (a node, a compile, a query): its pid (also its process
    group), its output lines, its end (``ending``, once ``wait`` has returned)."""

    pid: int
    ending: Ending | None = None
    _stopping = False

    def output(self) -> Iterator[str]:
        raise NotImplementedError

    def wait(self, timeout: float | None = None) -> int:
        """The return code; TimeoutError when it has not ended within ``timeout``."""
        returncode = self._wait(timeout)
        self.ending = Ending(returncode, stopped=self._stopping)
        return returncode

    def _wait(self, timeout: float | None) -> int:
        raise NotImplementedError

    def terminate(self, *, grace_s: float) -> int:
        """SIGTERM the node's group, SIGKILL it after ``grace_s``, then sweep what is left."""
        self._stopping = True
        signal_group(self.pid, signal.SIGTERM)
        try:
            self.wait(timeout=grace_s)
        except TimeoutError:
            pass
        # The leader may be gone while its workers live on; SIGKILL reaches them through the group.
        signal_group(self.pid, signal.SIGKILL)
        return self.wait()


class SpawnedProcess(TfxProcess):
    """A fresh interpreter, leading a new session."""

    def __init__(self, command: list[str], env: Mapping[str, str]) -> None:
        self.process = subprocess.Popen(
            command,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.pid = self.process.pid

    def output(self) -> Iterator[str]:
        assert self.process.stdout is not None
        for line in io.TextIOWrapper(self.process.stdout, errors="replace"):
            yield line.rstrip("\n")

    def _wait(self, timeout: float | None) -> int:
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise TimeoutError(f"node {self.pid} still runs") from None


class ServedProcess(TfxProcess):
    """A child of the node server. The connection stays open while the node runs: if this
    process dies, the server sees it close and kills the node's group."""

    def __init__(
        self,
        connection: socket.socket,
        module: str,
        args: list[str],
        env: Mapping[str, str],
        *,
        output_fd: int | None = None,
    ) -> None:
        """``output_fd``: where the node writes, e.g. this process's stdout; default a pipe
        that ``output()`` reads."""
        self.connection = connection
        read_end, write_end = os.pipe() if output_fd is None else (None, output_fd)
        try:
            request = {"module": module, "args": args, "env": dict(env), "cwd": os.getcwd()}
            send_request(connection, request, write_end)
        finally:
            if read_end is not None:
                os.close(write_end)
        self._output = os.fdopen(read_end, "rb") if read_end is not None else None
        self._received = b""
        self.pid = int(str(self._reply()["pid"]))
        self._returncode: int | None = None

    def _reply(self, timeout: float | None = None) -> dict[str, object]:
        """The server's next reply line; TimeoutError if none within ``timeout``. Waits with
        select, never with a socket timeout: a timed-out read of a socket's file object
        refuses every later read, and so the kill that must follow a timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while b"\n" not in self._received:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            readable, _, _ = select.select([self.connection], [], [], left)
            if not readable:
                raise TimeoutError(f"node {getattr(self, 'pid', '?')} still runs")
            data = self.connection.recv(65536)
            if not data:
                raise ConnectionError("the node server closed the connection")
            self._received += data
        line, _, self._received = self._received.partition(b"\n")
        return dict(json.loads(line))

    def output(self) -> Iterator[str]:
        if self._output is None:
            return
        for line in io.TextIOWrapper(self._output, errors="replace"):
            yield line.rstrip("\n")

    def _wait(self, timeout: float | None) -> int:
        if self._returncode is None:
            returncode = self._reply(timeout)["returncode"]
            self._returncode = int(str(returncode))
            self.connection.close()
        return self._returncode


def start(command: list[str], *, env: Mapping[str, str]) -> TfxProcess:
    """Start ``command`` (``[tfx python, "-m", module, *args]``): through the node server
    when it is on and serves this interpreter, else as a fresh process. The variables the
    interpreter's TFX environment declares are set over ``env``."""
    env = {**env, **tfx_envs.variables_of(Path(command[0]))}
    if settings.node_server(env) and len(command) > 2 and command[1] == "-m":
        try:
            connection = connect_server(Path(command[0]), env=env)
            return ServedProcess(connection, command[2], command[3:], env)
        except (OSError, ConnectionError, ValueError) as error:
            log.warning("The node server is unavailable (%s): starting a fresh process.", error)
    return SpawnedProcess(command, env)


def run(command: list[str], *, env: Mapping[str, str], timeout: float) -> tuple[int, str]:
    """Start ``command`` as ``start`` does and wait for it: its return code and output.
    TimeoutError after ``timeout`` seconds, its process group killed."""
    process = start(command, env=env)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(process.output()), daemon=True)
    reader.start()
    try:
        returncode = process.wait(timeout=timeout)
    except BaseException:
        # Our timeout, or the caller's (Airflow's parse timeout arrives as an exception).
        process.terminate(grace_s=1)
        raise
    reader.join()
    return returncode, "\n".join(lines)


def call(
    command: list[str], *, env: Mapping[str, str], timeout: float, tail: int = 5
) -> tuple[int, Reply]:
    """Run a TFX-side command as ``run`` does, with ``--reply FILE`` added: its return code
    and reply. NoReply where it wrote none (killed by a signal, dead before it replied),
    with the last ``tail`` lines of its output; TimeoutError as ``run``."""
    with tempfile.TemporaryDirectory(prefix="tfx-dags-reply-") as scratch:
        path = Path(scratch) / "reply.json"
        returncode, output = run([*command, REPLY_OPTION, str(path)], env=env, timeout=timeout)
        try:
            return returncode, read_reply(path, returncode)
        except NoReply:
            last = [line for line in output.splitlines() if line.strip()][-tail:]
            raise NoReply(returncode, " | ".join(last)) from None


def server_socket(python: Path, variables: Mapping[str, str] | None = None) -> Path:
    """One server per interpreter, its environment's declared variables (read when it
    imports TensorFlow) and version of the TFX-side code it has imported
    (``common/code_version.py``): a change to any starts a new server (the old one idles
    out)."""
    digest = hashlib.sha256(str(python).encode())
    if variables:
        digest.update(json.dumps(dict(variables), sort_keys=True).encode())
    digest.update(code_version(NODE_SERVER_FOLDERS).encode())
    return private_dir(settings.node_server_dir()) / f"node-server-{digest.hexdigest()[:16]}.sock"


def retire_other_servers(current: Path, python: Path) -> list[int]:
    """Ask the other servers of ``python`` in ``current``'s folder (older code) to exit once
    their running nodes end, instead of idling on for TFX_DAGS_NODE_SERVER_IDLE; their pids.
    Servers of other interpreters (other TFX environments) keep serving."""
    return _signal_servers(current.parent, signal.SIGUSR1, keep=current, python=python)


def stop_servers(directory: Path | None = None) -> list[int]:
    """SIGTERM every node server of this folder (default the settings' one); their pids.
    For one-shot uses (the demo, a test session, a benchmark) that should not leave a
    server idling after them."""
    return _signal_servers(directory or settings.node_server_dir(), signal.SIGTERM)


def _signal_servers(
    directory: Path,
    signum: signal.Signals,
    *,
    keep: Path | None = None,
    python: Path | None = None,
) -> list[int]:
    signalled = []
    for pid_file in directory.glob("*.sock.pid"):
        if keep is not None and pid_file.name == f"{keep.name}.pid":
            continue
        try:
            pid = int(pid_file.read_text())
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (OSError, ValueError):
            continue
        if python is not None and command.split(b"\0", 1)[0] != str(python).encode():
            continue
        if b"tfx_dags.server.node_server" in command:
            os.kill(pid, signum)
            signalled.append(pid)
    return signalled


def private_dir(path: Path) -> Path:
    """The folder, created 0700; refused when another user owns it or can enter it."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    stat = path.stat()
    if stat.st_uid != os.getuid() or stat.st_mode & 0o077:
        raise PermissionError(f"{path} must be owned by this user and private (mode 0700)")
    return path


def connect_server(python: Path, *, env: Mapping[str, str]) -> socket.socket:
    """A connection to the server for ``python``, started first if none answers."""
    variables = tfx_envs.variables_of(python)
    env = {**env, **variables}
    path = server_socket(python, variables)
    connection = connect(path)
    if connection is not None:
        return connection
    # One client starts the server; the others wait on the lock, then connect.
    with open(f"{path}.start", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        connection = connect(path)
        if connection is not None:
            return connection
        server = _spawn_server(python, path, env)
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while time.monotonic() < deadline:
            connection = connect(path)
            if connection is not None:
                retire_other_servers(path, python)
                return connection
            if server.poll() is not None:
                if server.returncode != 0:
                    break
                # It found the socket's lock held: a retired server of this socket that has
                # closed its listener but not yet exited. Start another once that one is gone.
                time.sleep(0.5)
                server = _spawn_server(python, path, env)
                continue
            time.sleep(0.2)
    raise ConnectionError(f"the node server did not start; see {path}.log")


def connect(path: Path) -> socket.socket | None:
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        connection.connect(str(path))
    except (FileNotFoundError, ConnectionRefusedError):
        connection.close()
        return None
    return connection


def _spawn_server(python: Path, path: Path, env: Mapping[str, str]) -> subprocess.Popen[bytes]:
    # The server outlives this task: its own session, no secret of this task's environment.
    # Tasks, compiles and queries pass the allow-listed one (tfx_dags.airflow.node_env), but
    # the ML Metadata URI in it is this task's; Airflow's own variables are dropped here too,
    # for a caller that hands over its whole environment.
    server_env = {
        name: value
        for name, value in env.items()
        if not name.lstrip("_").upper().startswith("AIRFLOW") and name != URI_ENV
    }
    command = [
        str(python),
        "-m",
        "tfx_dags.server.node_server",
        "--socket",
        str(path),
        "--idle-exit",
        str(settings.node_server_idle_s()),
    ]
    if PREIMPORT is not None:
        command += ["--preimport", PREIMPORT]
    with open(f"{path}.log", "ab") as server_log:
        return subprocess.Popen(
            command,
            env=server_env,
            # Its own folder: each node gets its client's working directory instead.
            cwd=path.parent,
            stdin=subprocess.DEVNULL,
            stdout=server_log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
