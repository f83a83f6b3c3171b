"""Defaults with and without a checkout: an installed wheel assumes none (issue #22)."""

from __future__ import annotations

import importlib
import json
import os
import socket
import sys
from pathlib import Path

import pytest

from tfx_dags.airflow import pools
from tfx_dags.common import settings, tfx_envs
from tfx_dags.common.errors import ConfigError

DEFAULTED = (
    "TFX_DAGS_HOME",
    "TFX_DAGS_COMPILED_DIR",
    "TFX_DAGS_POOLS_FILE",
    "TFX_DAGS_AIRFLOW_PYTHON",
    "TFX_DAGS_TFX_PYTHON",
    "TFX_DAGS_TFX_ENVS",
)


@pytest.fixture
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """tfx_dags as a wheel installs it: nothing of a checkout beside the package."""
    monkeypatch.setattr(settings, "PROJECT_ROOT", tmp_path / "lib" / "python3.11")
    for variable in DEFAULTED:
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "airflow"))
    return tmp_path


def test_a_checkout_is_told_by_its_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert settings.checkout() == settings.PROJECT_ROOT  # this one
    monkeypatch.setattr(settings, "PROJECT_ROOT", tmp_path)
    (tmp_path / "setup.cfg").write_text("")
    assert settings.checkout() is None
    (tmp_path / "tfx-envs.json").write_text("{}")
    assert settings.checkout() == tmp_path


def test_a_checkout_keeps_everything_in_it(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in DEFAULTED:
        monkeypatch.delenv(variable, raising=False)
    root = settings.PROJECT_ROOT
    assert settings.home() == root / "var"
    assert settings.compiled_dir() == root / "var" / "compiled"
    assert settings.pools_file() == root / "pools.json"
    assert settings.airflow_python() == root / ".venv-airflow" / "bin" / "python"
    assert settings.tfx_envs_declaration() == str(root / "tfx-envs.json")


def test_installed_defaults_live_in_airflows_home(installed: Path) -> None:
    assert settings.checkout() is None
    assert settings.home() == installed / "airflow" / "tfx-dags"
    assert settings.compiled_dir() == installed / "airflow" / "tfx-dags" / "compiled"
    assert settings.metadata_sqlite_path() == installed / "airflow" / "tfx-dags" / "metadata.sqlite"
    assert settings.airflow_python() == Path(os.path.abspath(sys.executable))
    # The package's own pools: those its defaults name.
    assert settings.pools_file() == settings.PACKAGED_POOLS_FILE
    assert pools.load_pools() == {settings.gpu_pool(): 1}


def test_installed_without_airflow_home_is_airflows_default(
    installed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AIRFLOW_HOME")
    monkeypatch.setenv("HOME", str(installed / "user"))
    assert settings.home() == installed / "user" / "airflow" / "tfx-dags"


def test_installed_tfx_environments_must_be_declared(
    installed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    message = (
        r'TFX_DAGS_TFX_ENVS to .* e\.g\. TFX_DAGS_TFX_ENVS=\'\{"tfx116": .*TFX_DAGS_TFX_PYTHON'
    )
    with pytest.raises(ConfigError, match=message):
        tfx_envs.resolve()
    with pytest.raises(ConfigError, match=message):
        settings.tfx_python()
    monkeypatch.setenv("TFX_DAGS_TFX_ENVS", json.dumps({"tfx116": "/venvs/tfx116/bin/python"}))
    assert tfx_envs.resolve().python == Path("/venvs/tfx116/bin/python")
    monkeypatch.delenv("TFX_DAGS_TFX_ENVS")
    monkeypatch.setenv("TFX_DAGS_TFX_PYTHON", "/venvs/tfx/bin/python")
    assert tfx_envs.resolve().python == Path("/venvs/tfx/bin/python")


def test_a_worker_is_named_by_tfx_dags_worker_name(monkeypatch: pytest.MonkeyPatch) -> None:
    # Airflow's [core] hostname_callable, named by its dotted path as docs/scaling-out.md does.
    module, _, name = "tfx_dags.common.settings.worker_hostname".rpartition(".")
    hostname = getattr(importlib.import_module(module), name)
    monkeypatch.setenv("TFX_DAGS_WORKER_NAME", "gpu-worker")
    assert hostname() == "gpu-worker"
    monkeypatch.setenv("TFX_DAGS_WORKER_NAME", " ")
    assert hostname() == socket.getfqdn()
    monkeypatch.delenv("TFX_DAGS_WORKER_NAME")
    assert hostname() == socket.getfqdn()
