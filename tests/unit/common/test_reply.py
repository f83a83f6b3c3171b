"""The one reply of every TFX-side command (tfx_dags.common.reply): written whole, read with
the way its process ended."""

from __future__ import annotations

from pathlib import Path

import pytest

from tfx_dags.common.reply import (
    NonRetryableError,
    NoReply,
    Outcome,
    Reply,
    read_reply,
    write_reply,
)


def test_a_reply_round_trips_and_its_writer_returns_the_outcomes_exit_code(
    tmp_path: Path,
) -> None:
    path = tmp_path / "reply.json"
    reply = Reply(Outcome.BAD_INPUT, "CsvExampleGen: 2 rows", {"execution_id": 3})
    assert write_reply(path, reply) == 3
    assert not Path(f"{path}.partial").exists()
    assert read_reply(path, 3) == reply
    assert [outcome.exit_code for outcome in Outcome] == [0, 4, 3, 1, 1]


def test_no_file_is_written_for_a_command_run_by_hand() -> None:
    assert write_reply(None, Reply(Outcome.SKIPPED, "not run")) == 4


def test_a_process_killed_by_a_signal_has_no_reply_even_with_a_file(tmp_path: Path) -> None:
    path = tmp_path / "reply.json"
    write_reply(path, Reply(Outcome.OK))
    with pytest.raises(NoReply, match=r"^exit code -9 \(killed by signal SIGKILL\), no reply$"):
        read_reply(path, -9)


def test_a_process_that_wrote_none_or_half_of_one_has_no_reply(tmp_path: Path) -> None:
    with pytest.raises(NoReply, match=r"^exit code 1, no reply$") as caught:
        read_reply(tmp_path / "missing.json", 1)
    assert caught.value.returncode == 1
    (tmp_path / "half.json").write_text('{"outcome": "ok", "res')
    with pytest.raises(NoReply, match="exit code 0"):
        read_reply(tmp_path / "half.json", 0)
    (tmp_path / "other.json").write_text('{"outcome": "maybe"}')
    with pytest.raises(NoReply):
        read_reply(tmp_path / "other.json", 0)
    assert str(NoReply(2, "a | b")) == "exit code 2: a | b"


def test_an_exit_code_other_than_the_replys_is_a_failure(tmp_path: Path) -> None:
    path = tmp_path / "reply.json"
    write_reply(path, Reply(Outcome.OK, result=[1]))
    assert read_reply(path, 1) == Reply(Outcome.FAILED, "exit code 1 after its reply (ok: )", [1])
    write_reply(path, Reply(Outcome.SKIPPED, "not run"))
    assert read_reply(path, 0).outcome is Outcome.FAILED
    assert read_reply(path, 4) == Reply(Outcome.SKIPPED, "not run")


def test_a_non_retryable_error_carries_its_outcome_and_exit_code() -> None:
    error = NonRetryableError("the same data fails the same way")
    assert (error.outcome, error.exit_code) == (Outcome.BAD_INPUT, 3)
