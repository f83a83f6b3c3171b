"""A node process never outlives its task: its whole process group dies with it.

The operator starts each node as the leader of a new session, so its group holds every Beam
worker and TensorFlow helper it starts. Two ways the task can end without the operator's own
cleanup, and what covers each:

- SIGTERM to the node (the operator's kill, an execution timeout, a worker shutting down):
  the node SIGKILLs its group, itself included, at once.
- SIGKILL of the task process itself: the kernel sends the node SIGTERM
  (``PR_SET_PDEATHSIG``), which leads to the first case. Python runs signal handlers only
  between bytecodes of the main thread, which a long TensorFlow or Beam call can delay; a
  watchdog thread that sees the node orphaned kills the group as well.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

PR_SET_PDEATHSIG = 1
WATCH_INTERVAL_S = 1.0


def tie_to_parent() -> None:
    """Install both; a no-op for the group kill when not a session leader (run by hand)."""
    parent = os.getppid()
    signal.signal(signal.SIGTERM, _kill_group)
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    # The parent may have died before prctl took effect: then we are already orphaned.
    if os.getppid() != parent:
        _kill_group(signal.SIGTERM, None)
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(WATCH_INTERVAL_S)
    _kill_group(signal.SIGTERM, None)


def _kill_group(signum: int, frame: FrameType | None) -> None:
    if os.getpgrp() == os.getpid():
        os.killpg(os.getpgrp(), signal.SIGKILL)
    os._exit(128 + signum)


@contextmanager
def temporary_files_go_with_us(prefix: str) -> Iterator[str]:
    """This process's temporary files (``tempfile``'s default folder) in a scratch folder of
    its own, removed at the end: TFX builds and unpacks user-code wheels in temporary
    folders it never removes."""
    scratch = tempfile.mkdtemp(prefix=prefix)
    tempfile.tempdir = scratch
    try:
        yield scratch
    finally:
        tempfile.tempdir = None
        shutil.rmtree(scratch, ignore_errors=True)
