"""The node server's wire format and process signalling, shared by the server (TFX
environment) and its clients (the operator, Airflow environment): standard library only.

A client sends one request: a 4-byte length, then JSON ``{"module", "args", "env", "cwd"}``,
with the file descriptor the node writes its output to attached (SCM_RIGHTS). The server
answers with JSON lines: ``{"pid": N}`` once the node is forked, ``{"returncode": N}`` when it
has ended (negative: killed by that signal, as with ``subprocess``).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import struct
from typing import Any

HEADER = struct.Struct("!I")
MAX_REQUEST_BYTES = 16 * 1024 * 1024
# Set by the server in every node it forks: where the node's own Beam SDK workers are forked
# too (tfx_dags.server.beam_workers).
SOCKET_ENV = "TFX_DAGS_NODE_SERVER_SOCKET"


def send_request(sock: socket.socket, request: dict[str, Any], output_fd: int) -> None:
    body = json.dumps(request).encode()
    socket.send_fds(sock, [HEADER.pack(len(body)) + body], [output_fd])


def receive_request(sock: socket.socket) -> tuple[dict[str, Any], int]:
    """The request and its output descriptor; ValueError when it is malformed."""
    data, fds, _flags, _address = socket.recv_fds(sock, 65536, 1)
    if len(fds) != 1 or len(data) < HEADER.size:
        for fd in fds:
            _close(fd)
        raise ValueError("a request needs a header and exactly one output descriptor")
    (length,) = HEADER.unpack(data[: HEADER.size])
    if length > MAX_REQUEST_BYTES:
        _close(fds[0])
        raise ValueError(f"a request of {length} bytes is over {MAX_REQUEST_BYTES}")
    body = data[HEADER.size :]
    while len(body) < length:
        chunk = sock.recv(length - len(body))
        if not chunk:
            _close(fds[0])
            raise ValueError("the client hung up in the middle of its request")
        body += chunk
    request = json.loads(body)
    if not isinstance(request, dict) or not {"module", "args", "env", "cwd"} <= request.keys():
        _close(fds[0])
        raise ValueError("a request names module, args, env and cwd")
    return request, fds[0]


def send_line(sock: socket.socket, message: dict[str, Any]) -> None:
    sock.sendall(json.dumps(message).encode() + b"\n")


def _close(fd: int) -> None:
    try:
        os.close(fd)
    except OSError:
        pass


def signal_group(group: int, signum: signal.Signals) -> None:
    """Signal a process group that may already be gone."""
    try:
        os.killpg(group, signum)
    except (ProcessLookupError, PermissionError):
        pass
