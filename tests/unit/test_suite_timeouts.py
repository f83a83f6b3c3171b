"""The suite's time limit names what a timed-out test waited for (tests/conftest.py)."""

from __future__ import annotations

import importlib.util
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

CONFTEST = Path(__file__).resolve().parents[1] / "conftest.py"


def suite_conftest() -> Any:
    spec = importlib.util.spec_from_file_location("suite_conftest", CONFTEST)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Timeout(Exception):
    """Stands for pytest-timeout's failure, raised where the test was waiting."""


def interrupted(wait: Any) -> pytest.ExceptionInfo[BaseException]:
    with pytest.raises(Timeout) as caught:
        wait()
    return caught


def wait_for(*, what: str) -> None:
    time.sleep(0)
    raise Timeout


def test_a_wait_for_is_named_by_what_it_waits_for() -> None:
    caught = interrupted(lambda: wait_for(what="2 finished runs of penguin_keras"))
    assert suite_conftest().waited_for(caught) == "2 finished runs of penguin_keras"


def test_a_command_is_named_with_its_arguments_and_pid() -> None:
    process = subprocess.Popen.__new__(subprocess.Popen)
    process.args, process.pid, process._child_created = ["airflow", "dags", "test", "x"], 42, False

    def communicate(process: subprocess.Popen[bytes]) -> None:
        raise Timeout

    caught = interrupted(lambda: communicate(process))
    assert suite_conftest().waited_for(caught) == "the command airflow dags test x (pid 42)"


def test_otherwise_the_innermost_line_of_the_tests_is_named() -> None:
    def sleeps() -> None:
        raise Timeout

    waited = suite_conftest().waited_for(interrupted(sleeps))
    assert waited.startswith(f"{__file__}:") and "raise Timeout" in waited
