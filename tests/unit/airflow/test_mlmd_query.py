"""The Airflow side's one way to ask ML Metadata (tfx_dags.airflow.mlmd_query), with the
node server's ``run`` stood in for: what command and environment it hands over, and how a
failure or a timeout reads."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from tfx_dags.airflow import mlmd_query
from tfx_dags.common.contract import URI_ENV
from tfx_dags.common.reply import Outcome, Reply, write_reply
from tfx_dags.common.tfx_envs import TfxEnv

TFX116 = TfxEnv("tfx116", Path("/envs/tfx116/bin/python"), {"TF_USE_LEGACY_KERAS": "1"})


class Recorded:
    def __init__(self, monkeypatch: pytest.MonkeyPatch, *, answer: Reply | None, code: int = 0):
        self.calls: list[tuple[list[str], dict[str, str]]] = []

        def run(command: list[str], *, env: Mapping[str, str], timeout: float) -> Any:
            self.calls.append((command, dict(env)))
            if answer is not None:
                write_reply(command[command.index("--reply") + 1], answer)
            return code, "TensorFlow chatter\nthe reason\n"

        monkeypatch.setattr(mlmd_query.node_client, "run", run)


def test_the_answer_is_the_result_the_command_replied_in_its_reply_file(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    recorded = Recorded(monkeypatch, answer=Reply(Outcome.OK, result={"pipelines": []}))
    monkeypatch.setattr(mlmd_query, "metadata_uri", lambda: "mysql://u:p@db:3306/mlmd")
    answer = mlmd_query.ask(
        "tfx_dags.queries.view_data", "pipelines", tfx_env=TFX116, environ={"HOME": "/h"}
    )
    assert answer == {"pipelines": []}
    [(command, env)] = recorded.calls
    assert command[:4] == [str(TFX116.python), "-m", "tfx_dags.queries.view_data", "pipelines"]
    assert command[4] == "--reply"
    assert env == {"HOME": "/h", "TF_USE_LEGACY_KERAS": "1", URI_ENV: "mysql://u:p@db:3306/mlmd"}


def test_a_local_airflow_keeps_the_store_its_environment_names(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    recorded = Recorded(monkeypatch, answer=Reply(Outcome.OK, result=[]))
    monkeypatch.setattr(mlmd_query, "metadata_uri", lambda: pytest.fail("no connection asked"))
    environ = {URI_ENV: "mysql://u:p@other:3306/mlmd"}
    mlmd_query.ask(
        "tfx_dags.queries.query", "runs", tfx_env=TFX116, environ=environ, connection=False
    )
    assert recorded.calls[0][1][URI_ENV] == "mysql://u:p@other:3306/mlmd"


def test_a_failed_command_names_the_query_its_exit_code_and_last_lines(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    Recorded(monkeypatch, answer=None, code=1)
    with pytest.raises(
        mlmd_query.MetadataQueryError,
        match=r"reading ML Metadata \(query runs\) failed with exit code 1: "
        r"TensorFlow chatter \| the reason",
    ):
        mlmd_query.ask("tfx_dags.queries.query", "runs", tfx_env=TFX116, connection=False)


def test_no_answer_in_time_is_said_with_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    def run(command: list[str], *, env: Mapping[str, str], timeout: float) -> Any:
        raise TimeoutError

    monkeypatch.setattr(mlmd_query.node_client, "run", run)
    with pytest.raises(
        mlmd_query.MetadataQueryError, match=r"did not answer 'query runs' within 5 s"
    ):
        mlmd_query.ask(
            "tfx_dags.queries.query", "runs", tfx_env=TFX116, connection=False, timeout=5
        )


def test_a_reply_other_than_ok_is_an_error_with_its_message(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    Recorded(
        monkeypatch, answer=Reply(Outcome.NOT_FOUND, "pipeline 'p' has pushed no model"), code=1
    )
    with pytest.raises(
        mlmd_query.MetadataNotFound,
        match=r"reading ML Metadata \(query latest-pushed-model\) failed: pipeline 'p' has pushed",
    ):
        mlmd_query.ask(
            "tfx_dags.queries.query", "latest-pushed-model", tfx_env=TFX116, connection=False
        )
    Recorded(monkeypatch, answer=Reply(Outcome.FAILED, "ML Metadata at X: RuntimeError"), code=1)
    reply = mlmd_query.ask_reply(
        "tfx_dags.queries.view_data", "pipelines", tfx_env=TFX116, connection=False
    )
    assert reply == Reply(Outcome.FAILED, "ML Metadata at X: RuntimeError")


def test_a_command_killed_by_a_signal_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    Recorded(monkeypatch, answer=None, code=-9)
    with pytest.raises(
        mlmd_query.MetadataQueryError,
        match=r"failed with exit code -9 \(killed by signal SIGKILL\): TensorFlow chatter",
    ):
        mlmd_query.ask("tfx_dags.queries.query", "runs", tfx_env=TFX116, connection=False)
