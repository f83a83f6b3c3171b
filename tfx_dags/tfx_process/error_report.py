"""A runner's failure, reported for the task log and said in one line for its reply.

A runner prints the full traceback for the task log, then one marked line that states the
problem plainly; the same line, unmarked, is its reply's message (``common.reply``), which
the factory and the operator put into the error the user sees.
"""

from __future__ import annotations

import sys
import sysconfig
import traceback
from pathlib import Path


def describe(error: BaseException) -> str:
    """State an exception with the user-code location it came from: the innermost frame of
    the user's own files, else of anything outside installed packages."""
    if isinstance(error, SyntaxError):
        return f"SyntaxError in {error.filename}, line {error.lineno}: {error.msg}"
    frames = traceback.extract_tb(error.__traceback__)
    outside = [frame for frame in frames if not _installed(frame.filename)]
    users = [frame for frame in outside if not frame.filename.startswith(_OWN_CODE)]
    chosen = users or outside
    where = f" (at {chosen[-1].filename}:{chosen[-1].lineno})" if chosen else ""
    return f"{type(error).__name__}: {error}{where}"


# The standard library and installed packages are nobody's code to fix; tfx_dags' own
# frames only when no user frame is there.
_LIBRARY_DIRS = tuple(
    {sysconfig.get_paths()[name] for name in ("stdlib", "platstdlib", "purelib", "platlib")}
)
_OWN_CODE = str(Path(__file__).resolve().parents[1])


def _installed(filename: str) -> bool:
    return (
        filename.startswith("<")
        or "site-packages" in filename
        or filename.startswith(_LIBRARY_DIRS)
    )


def report(marker: str, error: BaseException, prefix: str = "") -> str:
    """Print the traceback and the marked line; the line's text, unmarked (the reply's
    message)."""
    traceback.print_exception(error)
    message = f"{prefix}{describe(error)}".replace("\n", " ")
    print(f"{marker}{message}", file=sys.stderr, flush=True)
    return message
