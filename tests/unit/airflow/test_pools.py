"""The pools file and the check that DAG tasks use only provisioned pools."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from tfx_dags.airflow import pools
from tfx_dags.common import settings
from tfx_dags.common.errors import ConfigError


def test_the_committed_pools_file_gives_the_gpu_pool_one_slot() -> None:
    assert pools.load_pools() == {settings.gpu_pool(): 1}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[1]", "must hold an object of pools by name"),
        ('{"gpu pool": {"slots": 1}}', "pool name 'gpu pool'"),
        ('{"tfx_gpu": {"slots": 0}}', "pool 'tfx_gpu' needs \"slots\": an integer >= 1"),
        ("{", "cannot read the pools file"),
    ],
)
def test_a_bad_pools_file_is_refused(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "pools.json"
    path.write_text(content)
    with pytest.raises(ConfigError, match=message):
        pools.load_pools(path)


def test_tasks_naming_an_unprovisioned_pool_are_listed(tmp_path: Path) -> None:
    path = tmp_path / "pools.json"
    path.write_text(json.dumps({"tfx_gpu": {"slots": 1}}))
    dag = SimpleNamespace(
        dag_id="penguin",
        tasks=[
            SimpleNamespace(task_id="Trainer", pool="tfx_gpu"),
            SimpleNamespace(task_id="Transform", pool="default_pool"),
            SimpleNamespace(task_id="Evaluator", pool="big_memory"),
        ],
    )
    problems = pools.unprovisioned_pools([dag], path)
    assert len(problems) == 1
    assert problems[0].startswith("penguin.Evaluator uses pool 'big_memory', which")
