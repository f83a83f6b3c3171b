"""Beam SDK workers forked from the node server, like the nodes that start them.

A multi-processing DirectRunner starts each SDK worker as
``<python> -m apache_beam.runners.worker.sdk_worker_main``: a fresh interpreter that imports
Beam, TensorFlow and the component's libraries (TFDV, TFT, TFMA) again, 4-6 s of CPU per
worker and per Beam node. In a node forked by the node server, ``route_sdk_workers()`` has
the runner start this module instead: a stdlib-only stand-in that asks the server to fork
the worker (with the environment Beam gave it) and lives exactly as long as it, so Beam's
own stop (killing this process) ends the worker: the server kills a node whose client hangs
up. Without a server it becomes the usual worker.

    python -m tfx_dags.server.beam_workers   (environment as Beam sets it)
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from types import FrameType

from tfx_dags.node_server.protocol import SOCKET_ENV  # set by the server in every node it forks

SDK_WORKER = "apache_beam.runners.worker.sdk_worker_main"


def route_sdk_workers() -> bool:
    """In a served node, start the DirectRunner's SDK workers through this module; True when
    routed."""
    if not os.environ.get(SOCKET_ENV):
        return False
    from apache_beam.transforms import environments

    original = environments.SubprocessSDKEnvironment.from_command_string.__func__

    def from_command_string(cls: type, command_string: str, **kwargs: object) -> object:
        command_string = command_string.replace(f"-m {SDK_WORKER}", f"-m {__name__}")
        return original(cls, command_string=command_string, **kwargs)

    environments.SubprocessSDKEnvironment.from_command_string = classmethod(from_command_string)
    return True


def main() -> int:
    from tfx_dags.node_server.client import ServedProcess, connect

    path = os.environ.get(SOCKET_ENV)
    connection = connect(Path(path)) if path else None
    if connection is None:
        os.execv(sys.executable, [sys.executable, "-m", SDK_WORKER])
    worker = ServedProcess(connection, SDK_WORKER, [], dict(os.environ), output_fd=1)
    print(f"tfx_dags: Beam SDK worker {worker.pid} forked by the node server", flush=True)

    def stop(signum: int, _frame: FrameType | None) -> None:
        worker.terminate(grace_s=5)
        os._exit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    return worker.wait()


if __name__ == "__main__":
    sys.exit(main())
