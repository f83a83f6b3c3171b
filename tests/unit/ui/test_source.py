"""What the view tells the TFX environment of each pipeline: its root and, for a pipeline
with a store of its own, its compiled IR, as its DAG names them; the defaults where no DAG
names one. (tests/integration/test_tfx_view.py asks a real store.)"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from tfx_dags.airflow.compile_entries import CompiledPipeline
from tfx_dags.common import settings
from tfx_dags.common.graph import PipelineGraph
from tfx_dags.common.reply import Outcome, Reply
from tfx_dags.ui import source as source_module
from tfx_dags.ui.source import ViewSource


class FakeDags:
    """Stands in for ``DagPipelines``: the DAGs' compiled pipelines, or a DB error."""

    def __init__(self, compiled: dict[str, CompiledPipeline], error: Exception | None = None):
        self.compiled = compiled
        self.error = error

    def all(self) -> dict[str, CompiledPipeline]:
        if self.error is not None:
            raise self.error
        return dict(self.compiled)

    def get(self, dag_id: str) -> CompiledPipeline | None:
        return self.all().get(dag_id)


OWN = CompiledPipeline(
    Path("/cache/own/k1"),
    PipelineGraph("own", nodes=(), pipeline_root="/user/roots/own", metadata="SQLite /m.db"),
)
SHARED = CompiledPipeline(
    Path("/cache/shared/k2"), PipelineGraph("shared", nodes=(), pipeline_root="/home/shared")
)


@pytest.fixture
def asked(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, ...]]:
    """Every question put to the TFX environment; each answered with an empty result."""
    questions: list[tuple[str, ...]] = []

    def ask_reply(module: str, *args: str, **kwargs: Any) -> Reply:
        questions.append(args)
        if args[0] == "pipelines":
            return Reply(Outcome.OK, result={"pipelines": ["own", "shared"], "tfx_lines": {}})
        return Reply(Outcome.OK, result={})

    monkeypatch.setattr(source_module.mlmd_query, "ask_reply", ask_reply)
    monkeypatch.setattr(source_module.tfx_envs, "resolve", lambda *args: "default-env")
    return questions


def test_a_pipeline_with_its_own_store_is_read_with_the_ir_its_dag_names(
    asked: list[tuple[str, ...]],
) -> None:
    source = ViewSource(FakeDags({"own": OWN, "shared": SHARED}))  # type: ignore[arg-type]
    assert source.pipelines() == ["own", "shared"]
    assert asked[-1] == ("pipelines", "--own=own=/cache/own/k1/pipeline_ir.pb")
    source.pipeline("own")
    assert asked[-1] == (
        "pipeline",
        *("--pipeline", "own", "--pipeline-root", "/user/roots/own"),
        *("--pipeline-ir", "/cache/own/k1/pipeline_ir.pb", "--runs", "25"),
    )
    source.run("shared", "manual__1")
    assert asked[-1] == (
        "run",
        *("--pipeline", "shared", "--pipeline-root", "/home/shared", "--run-id", "manual__1"),
    )
    assert source.root("own") == Path("/user/roots/own")


def test_a_pipeline_no_dag_names_has_the_default_root_and_no_store_of_its_own(
    asked: list[tuple[str, ...]],
) -> None:
    source = ViewSource(FakeDags({}))  # type: ignore[arg-type]
    source.pipelines()
    assert asked[-1] == ("pipelines",)
    source.run("gone", "manual__1")
    root = str(settings.pipeline_root("gone"))
    assert asked[-1] == (
        "run",
        *("--pipeline", "gone", "--pipeline-root", root, "--run-id", "manual__1"),
    )
    assert source.root("gone") == settings.pipeline_root("gone")


def test_an_unreadable_airflow_db_is_the_defaults_with_a_warning(
    asked: list[tuple[str, ...]], caplog: pytest.LogCaptureFixture
) -> None:
    from sqlalchemy.exc import OperationalError

    error = OperationalError("SELECT ...", {}, Exception("no such table: serialized_dag"))
    source = ViewSource(FakeDags({"own": OWN}, error))  # type: ignore[arg-type]
    with caplog.at_level(logging.WARNING, logger=source_module.__name__):
        assert source.pipelines() == ["own", "shared"]
    assert asked[-1] == ("pipelines",)
    assert source.root("own") == settings.pipeline_root("own")
    assert "no such table: serialized_dag" in caplog.text
    assert "SELECT" not in caplog.text
