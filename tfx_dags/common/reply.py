"""The one reply of every TFX-side command to the Airflow side that started it.

The Airflow side starts ``python -m tfx_dags.runner.<command> ... --reply FILE`` (compile,
node, query, view_data, close_execution) through ``tfx_dags.node_server.client``; the
command ends by writing one ``Reply`` to FILE (``write_reply``, whole or not at all) and
exiting with its outcome's exit code. The Airflow side reads it back with ``read_reply``,
which also says how a process that wrote none ended (a signal, a crash). Marked lines
(``contract``) stay in the output for people reading the task log; nothing parses them.
Standard library only: both environments import it.
"""

from __future__ import annotations

import enum
import json
import os
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tfx_dags.common.errors import TfxDagsError

# The option every TFX-side command takes: where it writes its reply.
REPLY_OPTION = "--reply"


class Outcome(enum.Enum):
    """How a command ended, each with the exit code it exits with."""

    OK = "ok"
    # A node TFX decided not to run (a tfx.dsl.Cond that does not hold): the task is skipped.
    SKIPPED = "skipped"
    # Bad input data (unreadable CSV, schema anomalies) or a store whose history of the
    # pipeline belongs to another TFX line: the same input fails the same way, no retry.
    BAD_INPUT = "bad_input"
    FAILED = "failed"
    # What was asked for is not there (an artifact, a run, a pushed model).
    NOT_FOUND = "not_found"

    @property
    def exit_code(self) -> int:
        return _EXIT_CODES[self]


_EXIT_CODES = {
    Outcome.OK: 0,
    Outcome.FAILED: 1,
    Outcome.NOT_FOUND: 1,
    Outcome.BAD_INPUT: 3,
    Outcome.SKIPPED: 4,
}


class NonRetryableError(TfxDagsError):
    """An error the same input makes again, on any retry: the command's reply says
    ``bad_input`` and it exits with that outcome's exit code, so the task fails for good."""

    outcome = Outcome.BAD_INPUT

    @property
    def exit_code(self) -> int:
        return self.outcome.exit_code


class NoReply(TfxDagsError):
    """The command ended without a reply: killed by a signal, or dead before it wrote one.
    ``returncode`` as ``subprocess`` gives it (negative: the signal); ``tail``, where the
    caller has it, the last lines of its output, which then say why."""

    def __init__(self, returncode: int, tail: str = "") -> None:
        super().__init__(
            f"{ended(returncode)}: {tail}" if tail else f"{ended(returncode)}, no reply"
        )
        self.returncode = returncode
        self.tail = tail


@dataclass(frozen=True)
class Reply:
    """A command's outcome, one line for people (the task's error, the view's message) and
    a result, any JSON value (a node's artifacts, a query's answer; on failure, what the
    caller can still use)."""

    outcome: Outcome
    message: str = ""
    result: Any = None

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.OK

    def to_json(self) -> str:
        return json.dumps(
            {"outcome": self.outcome.value, "message": self.message, "result": self.result}
        )

    @classmethod
    def from_json(cls, text: str) -> Reply:
        """ValueError when the text is no reply."""
        data = json.loads(text)
        if not isinstance(data, dict) or not isinstance(data.get("message", ""), str):
            raise ValueError(f"not a reply: {text[:200]!r}")
        return cls(Outcome(data.get("outcome")), data.get("message", ""), data.get("result"))


def write_reply(path: Path | str | None, reply: Reply) -> int:
    """Write ``reply`` to ``path`` (none: nowhere, for a command run by hand), whole then
    renamed, so that a reader never sees half of one; the exit code to exit with."""
    if path is not None:
        partial = Path(f"{path}.partial")
        partial.write_text(reply.to_json() + "\n")
        os.replace(partial, path)
    return reply.outcome.exit_code


def read_reply(path: Path | str, returncode: int) -> Reply:
    """The reply the command wrote to ``path``, read with the way it ended.

    NoReply where it wrote none, or a signal ended it. An exit code other than the reply's
    outcome's (the process failed after replying, or exited with a stray code) reads as
    failed: a non-zero exit is never a success, and a stray ``exit(4)`` no skip."""
    if returncode < 0:
        raise NoReply(returncode)
    try:
        reply = Reply.from_json(Path(path).read_text())
    except (OSError, ValueError):
        raise NoReply(returncode) from None
    if returncode != reply.outcome.exit_code:
        message = f"{ended(returncode)} after its reply ({reply.outcome.value}: {reply.message})"
        return Reply(Outcome.FAILED, message, reply.result)
    return reply


def ended(returncode: int) -> str:
    """How a process ended, from its return code: ``exit code 1``, ``exit code -9 (killed
    by signal SIGKILL)``."""
    if returncode >= 0:
        return f"exit code {returncode}"
    try:
        name = signal.Signals(-returncode).name
    except ValueError:
        name = str(-returncode)
    return f"exit code {returncode} (killed by signal {name})"
