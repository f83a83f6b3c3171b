"""One-line error reports that the Airflow side lifts out of a runner's output.

A runner prints the full traceback for the task log, then one marked line that states the
problem plainly; the factory and the operator put that line into the error the user sees.
"""

from __future__ import annotations

import sys
import traceback

COMPILE_ERROR_MARKER = "tfx_dags compile error: "
NODE_ERROR_MARKER = "tfx_dags node error: "
# A node's exit code for bad input data (unreadable CSV, schema anomalies): the task fails
# without retrying, since the same data fails the same way.
BAD_DATA_EXIT = 3
# A node TFX decided not to run (a tfx.dsl.Cond that does not hold): the task is skipped.
SKIPPED_EXIT = 4


def describe(error: BaseException) -> str:
    """State an exception with the user-code location it came from."""
    if isinstance(error, SyntaxError):
        return f"SyntaxError in {error.filename}, line {error.lineno}: {error.msg}"
    frames = traceback.extract_tb(error.__traceback__)
    user_frames = [frame for frame in frames if "site-packages" not in frame.filename]
    where = f" (at {user_frames[-1].filename}:{user_frames[-1].lineno})" if user_frames else ""
    return f"{type(error).__name__}: {error}{where}"


def report(marker: str, error: BaseException, prefix: str = "") -> None:
    traceback.print_exception(error)
    print(f"{marker}{prefix}{describe(error)}".replace("\n", " "), file=sys.stderr, flush=True)
