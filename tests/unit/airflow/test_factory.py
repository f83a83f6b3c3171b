"""Where Trainer and Tuner tasks run: the GPU pool and queue, and TFX_DAGS_GPU_EXECUTOR (e.g.
an Edge worker on a GPU host) when set; every other node on the main executor."""

from __future__ import annotations

import pytest

from tfx_dags.airflow.dag_config import PipelineDagConfig, TaskOverride
from tfx_dags.airflow.factory import DEFAULT_POOL, _placement
from tfx_dags.common import settings
from tfx_dags.common.errors import ConfigError
from tfx_dags.common.graph import TfxNode

TRAINER = TfxNode(
    node_id="Trainer", node_type="tfx.components.Trainer", upstream=(), is_trainer=True
)
EVALUATOR = TfxNode(
    node_id="Evaluator", node_type="tfx.components.Evaluator", upstream=(), is_beam=True
)
PUSHER = TfxNode(node_id="Pusher", node_type="tfx.components.Pusher", upstream=())


def test_without_a_gpu_executor_every_node_stays_on_the_main_executor(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("TFX_DAGS_GPU_EXECUTOR", raising=False)
    assert settings.gpu_executor() is None
    assert _placement(TRAINER) == {"pool": settings.gpu_pool(), "queue": settings.gpu_queue()}
    for node in (EVALUATOR, PUSHER):
        assert "executor" not in _placement(node)


@pytest.mark.parametrize(
    "executor", ["EdgeExecutor", "airflow.providers.edge3.executors.EdgeExecutor", "gpu_edge"]
)
def test_the_gpu_executor_takes_the_trainer_and_only_the_trainer(
    monkeypatch: pytest.MonkeyPatch, executor: str
) -> None:
    monkeypatch.setenv("TFX_DAGS_GPU_EXECUTOR", f" {executor} ")
    assert settings.gpu_executor() == executor
    assert _placement(TRAINER) == {
        "pool": settings.gpu_pool(),
        "queue": settings.gpu_queue(),
        "executor": executor,
    }
    assert _placement(EVALUATOR) == {"pool": DEFAULT_POOL, "queue": settings.beam_queue()}
    assert _placement(PUSHER) == {"pool": DEFAULT_POOL, "queue": settings.default_queue()}


def test_a_blank_gpu_executor_is_the_main_executor(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TFX_DAGS_GPU_EXECUTOR", "  ")
    assert settings.gpu_executor() is None
    assert "executor" not in _placement(TRAINER)


def test_a_malformed_gpu_executor_is_refused_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # "alias:module.Class" belongs in Airflow's [core] executor list; a task names the alias.
    monkeypatch.setenv("TFX_DAGS_GPU_EXECUTOR", "gpu:airflow.providers.edge3.EdgeExecutor")
    with pytest.raises(ConfigError, match=r"TFX_DAGS_GPU_EXECUTOR='gpu:airflow.*' must be"):
        settings.gpu_executor()


def test_a_task_override_names_an_executor_for_one_node() -> None:
    config = PipelineDagConfig(
        dag_id="penguin",
        pipeline="modules.penguin.pipeline:create_pipeline",
        task_overrides={
            "Evaluator": {"executor": "EdgeExecutor", "queue": "gpu"},
            "Trainer": TaskOverride(executor="LocalExecutor"),
        },
    )
    overrides = config.check().overrides
    assert overrides["Evaluator"].operator_kwargs() == {"executor": "EdgeExecutor", "queue": "gpu"}
    # The factory applies the override over the placement: the Trainer back on LocalExecutor.
    placed = {**_placement(TRAINER), **overrides["Trainer"].operator_kwargs()}
    assert placed["executor"] == "LocalExecutor" and placed["pool"] == settings.gpu_pool()


@pytest.mark.parametrize("executor", ["Edge Executor", "", 3])
def test_a_bad_executor_override_is_refused_naming_the_field(executor: object) -> None:
    config = PipelineDagConfig(
        dag_id="penguin",
        pipeline="modules.penguin.pipeline:create_pipeline",
        task_overrides={"Trainer": {"executor": executor}},
    )
    with pytest.raises(ConfigError, match=r"task_overrides\['Trainer'\]\.executor=.* must be"):
        config.check()
