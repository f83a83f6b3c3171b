"""A warm node server: TensorFlow, TFX and Beam imported once, one fork per node.

    python -m tfx_dags.server.node_server --socket PATH [--idle-exit SECONDS] [--preimport M,M]

Starting a fresh interpreter for a node costs 6-9 s of imports here (``tfx`` pulls in
TensorFlow, Beam, TFDV, TFMA and TFT through its launcher) before the node does anything:
more than most nodes of a small pipeline take. The server pays that once per worker; each
request forks a child that is the node process, as ``python -m MODULE ARGS`` would be: its
own session (so a group kill reaches its Beam and TensorFlow workers), the client's
environment, working directory and output descriptor.

Nothing is started in the server beyond imports (no TensorFlow runtime, no gRPC channel, no
thread of ours), which is what makes forking it safe. The task stays in charge of its node:
when the client's connection closes (its task process died), the server SIGKILLs the node's
group. The server exits after ``--idle-exit`` seconds without a node.

The socket's directory is the user's own (0700): a request runs code as the server's user,
so connections from another user are refused too.
"""

from __future__ import annotations

import argparse
import importlib
import io
import os
import selectors
import signal
import socket
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from tfx_dags.node_server.protocol import SOCKET_ENV, receive_request, send_line, signal_group

# What TFX's launcher and the standard components' executors import, in load order.
DEFAULT_PREIMPORTS = (
    "tfx_dags.runner.node",
    "tensorflow",
    "apache_beam",
    "tfx.orchestration.portable.launcher",
    "tfx.orchestration.local.runner_utils",
    "tfx.orchestration.metadata",
    "tensorflow_data_validation",
    "tensorflow_transform.beam",
    "tensorflow_model_analysis",
    "tfx.components",
    "tfx.dsl.compiler.compiler",  # the compile step (tfx_dags.compiler.compile)
    "tfx_dags.compiler.compile",
    "keras",
)
REQUEST_TIMEOUT_S = 10.0


@dataclass
class Client:
    connection: socket.socket
    pid: int | None = None  # the node, once forked


class NodeServer:
    def __init__(self, listener: socket.socket, *, idle_exit_s: float) -> None:
        self.listener = listener
        self.socket_path = str(listener.getsockname())
        self.idle_exit_s = idle_exit_s
        self.selector = selectors.DefaultSelector()
        self.selector.register(listener, selectors.EVENT_READ)
        # A node's end wakes the loop through SIGCHLD written to this pipe: no polling.
        self.wakeup_read, self.wakeup_write = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        signal.set_wakeup_fd(self.wakeup_write)
        signal.signal(signal.SIGCHLD, lambda _signum, _frame: None)
        self.selector.register(self.wakeup_read, selectors.EVENT_READ)
        self.clients: dict[int, Client] = {}  # by connection fd
        self.nodes: dict[int, Client] = {}  # by node pid
        self.base_path = _base_sys_path()
        self.last_active = time.monotonic()

    def serve_forever(self) -> None:
        while True:
            idle_left = self.last_active + self.idle_exit_s - time.monotonic()
            if not (self.nodes or self.clients) and idle_left <= 0:
                break
            busy = self.nodes or self.clients
            for key, _events in self.selector.select(timeout=None if busy else idle_left):
                if key.fileobj is self.listener:
                    self._accept()
                elif key.fileobj == self.wakeup_read:
                    _drain(self.wakeup_read)
                else:
                    self._on_client(self.clients[key.fd])
            self._reap()
        print(f"idle for {self.idle_exit_s:.0f} s: exiting", flush=True)

    def _accept(self) -> None:
        connection, _address = self.listener.accept()
        _pid, uid, _gid = _peer_credentials(connection)
        if uid != os.getuid():
            connection.close()
            return
        self.clients[connection.fileno()] = Client(connection)
        self.selector.register(connection, selectors.EVENT_READ)
        self.last_active = time.monotonic()

    def _on_client(self, client: Client) -> None:
        if client.pid is None:
            self._start_node(client)
            return
        # A started node's client has nothing more to say: readable means it hung up, and
        # a task that is gone must not leave its node running.
        if not client.connection.recv(1):
            signal_group(client.pid, signal.SIGKILL)
            self._drop(client)

    def _start_node(self, client: Client) -> None:
        client.connection.settimeout(REQUEST_TIMEOUT_S)
        try:
            request, output_fd = receive_request(client.connection)
        except (OSError, ValueError) as error:
            print(f"bad request: {error}", flush=True)
            self._drop(client)
            return
        pid = os.fork()
        if pid == 0:
            self._become_node(request, output_fd)  # never returns
        os.close(output_fd)
        client.pid = pid
        self.nodes[pid] = client
        try:
            send_line(client.connection, {"pid": pid})
        except OSError:
            signal_group(pid, signal.SIGKILL)
            self._drop(client)

    def _become_node(self, request: dict, output_fd: int) -> None:
        code = 1
        try:
            signal.set_wakeup_fd(-1)
            for fd in (self.wakeup_read, self.wakeup_write):
                os.close(fd)
            self.selector.close()
            self.listener.close()
            for other in self.clients.values():
                other.connection.close()
            os.setsid()
            for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGCHLD, signal.SIGUSR1):
                signal.signal(signum, signal.SIG_DFL)
            devnull = os.open(os.devnull, os.O_RDONLY)
            os.dup2(devnull, 0)
            os.dup2(output_fd, 1)
            os.dup2(output_fd, 2)
            os.close(devnull)
            os.close(output_fd)
            for stream in (sys.stdout, sys.stderr):
                if isinstance(stream, io.TextIOWrapper):
                    stream.reconfigure(line_buffering=True)
            os.chdir(request["cwd"])
            os.environ.clear()
            os.environ.update(request["env"])
            # Where the node's own Beam SDK workers get forked too (beam_workers).
            os.environ[SOCKET_ENV] = self.socket_path
            sys.path[:] = [request["cwd"], *_pythonpath(request["env"]), *self.base_path]
            sys.argv = [request["module"], *request["args"]]
            _reseed()
            module = importlib.import_module(request["module"])
            code = module.main(list(request["args"]))
            code = 0 if code is None else code
        except SystemExit as stop:
            code = 0 if stop.code is None else stop.code if isinstance(stop.code, int) else 1
        except BaseException:  # noqa: BLE001 - the node's output is where it is reported
            traceback.print_exc()
        finally:
            for stream in (sys.stdout, sys.stderr):
                try:
                    stream.flush()
                except Exception:  # noqa: BLE001 - nothing left to report to
                    pass
            os._exit(code if isinstance(code, int) else 1)

    def _reap(self) -> None:
        while self.nodes:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            client = self.nodes.pop(pid, None)
            self.last_active = time.monotonic()
            if client is None or client.connection.fileno() not in self.clients:
                continue
            try:
                send_line(client.connection, {"returncode": os.waitstatus_to_exitcode(status)})
            except OSError:
                pass
            self._drop(client)

    def _drop(self, client: Client) -> None:
        fd = client.connection.fileno()
        if self.clients.pop(fd, None) is not None:
            self.selector.unregister(client.connection)
        client.connection.close()


def _drain(fd: int) -> None:
    try:
        while os.read(fd, 4096):
            pass
    except BlockingIOError:
        pass


def _peer_credentials(connection: socket.socket) -> tuple[int, int, int]:
    import struct

    raw = connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    pid, uid, gid = struct.unpack("3i", raw)
    return pid, uid, gid


def _pythonpath(env: dict[str, str]) -> list[str]:
    return [entry for entry in env.get("PYTHONPATH", "").split(os.pathsep) if entry]


def _base_sys_path() -> list[str]:
    """sys.path without what this process's own start added (its working directory, its
    PYTHONPATH): each node gets its client's instead."""
    own = {os.getcwd(), "", *_pythonpath(dict(os.environ))}
    return [entry for entry in sys.path if entry not in own]


def _reseed() -> None:
    """A forked child shares its parent's random state; the random module reseeds itself
    after fork, NumPy's global generator does not."""
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        numpy.random.seed()


def _exit_on_sigterm(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def preimport(modules: list[str]) -> None:
    # The node's logging setup first, as a fresh node process does before TensorFlow loads,
    # so that TensorFlow adds no handler of its own.
    if "tfx_dags.runner.node" in modules:
        from tfx_dags.runner.node import configure_logging

        configure_logging()
    for name in modules:
        importlib.import_module(name)


def bind(path: Path) -> socket.socket:
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    path.unlink(missing_ok=True)
    listener.bind(str(path))
    os.chmod(path, 0o600)
    listener.listen(64)
    return listener


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--socket", required=True, type=Path)
    parser.add_argument("--idle-exit", type=float, default=900.0)
    parser.add_argument(
        "--preimport",
        default=",".join(DEFAULT_PREIMPORTS),
        help="comma-separated modules to import before serving ('' for none)",
    )
    args = parser.parse_args(argv)
    import fcntl

    # One server per socket: the lock is held for the server's whole life.
    lock = open(f"{args.socket}.lock", "w")  # held until exit
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print(f"a server already holds {args.socket}.lock", flush=True)
        return 0
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    started = time.monotonic()
    preimport([name for name in args.preimport.split(",") if name])
    listener = bind(args.socket)
    pid_file = Path(f"{args.socket}.pid")
    pid_file.write_text(str(os.getpid()))
    print(
        f"serving on {args.socket} (pid {os.getpid()}, imports took "
        f"{time.monotonic() - started:.1f} s)",
        flush=True,
    )
    server = NodeServer(listener, idle_exit_s=args.idle_exit)
    # SIGUSR1: a newer server took over (changed code); finish the running nodes, then exit.
    signal.signal(signal.SIGUSR1, lambda _signum, _frame: setattr(server, "idle_exit_s", 0.0))
    try:
        server.serve_forever()
    finally:
        args.socket.unlink(missing_ok=True)
        pid_file.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
