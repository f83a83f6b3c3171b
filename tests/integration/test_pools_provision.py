"""Provisioning puts the project's pools into a real Airflow database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dev import local_airflow
from tfx_dags.airflow import pools

# No DAG run: part of `make test-fast`.
pytestmark = pytest.mark.quick


def test_provisioning_creates_the_gpu_pool_and_the_slot_setting_overrides_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = local_airflow.environment(tmp_path)
    local_airflow.init_db(env, log=tmp_path / "db-migrate.log")
    listed = json.loads(local_airflow.airflow(env, "pools", "list", "-o", "json").stdout)
    assert {pool["pool"]: int(pool["slots"]) for pool in listed}["tfx_gpu"] == 1

    monkeypatch.setenv("TFX_DAGS_GPU_POOL_SLOTS", "3")
    provisioned = pools.provision(env)
    assert provisioned == {"tfx_gpu": 3}
    listed = json.loads(local_airflow.airflow(env, "pools", "list", "-o", "json").stdout)
    assert {pool["pool"]: int(pool["slots"]) for pool in listed}["tfx_gpu"] == 3
