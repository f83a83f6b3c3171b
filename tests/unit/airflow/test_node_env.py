"""What the TFX side sees of the Airflow side's environment (tfx_dags.airflow.node_env): an
allow-list, never Airflow's secrets. tests/integration/airflow/test_node_env.py checks it
through the operator, the compile and the node server, with real processes."""

from __future__ import annotations

import pytest

from tests.support.environments import NEEDED, SECRETS
from tfx_dags.airflow import compile_entries, node_env
from tfx_dags.common import settings
from tfx_dags.common.errors import ConfigError
from tfx_dags.common.graph import TfxNode
from tfx_dags.common.manifest import Manifest, environment_digest


def test_only_allow_listed_variables_pass_never_airflows_secrets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("TFX_DAGS_NODE_ENV_ALLOW", raising=False)
    # The node's own ML Metadata store (TFX_DAGS_METADATA_URI) is the one secret it gets.
    assert node_env.allowed({**SECRETS, **NEEDED}) == NEEDED


def test_the_deployment_allows_more_by_name_or_glob_but_never_airflows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cloud = {"GOOGLE_APPLICATION_CREDENTIALS": "/keys/sa.json", "AWS_REGION": "eu-west-1"}
    monkeypatch.setenv("TFX_DAGS_NODE_ENV_ALLOW", " GOOGLE_APPLICATION_CREDENTIALS , AWS_*")
    assert node_env.allowed({**SECRETS, **cloud}) == cloud
    # Even a glob of everything lets none of Airflow's own variables through.
    monkeypatch.setenv("TFX_DAGS_NODE_ENV_ALLOW", "*")
    assert set(node_env.allowed(SECRETS)) == {"DATABASE_URL"}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("AIRFLOW_CONN_*", r"'AIRFLOW_CONN_\*' names Airflow's own settings, which never reach"),
        ("PATH,airflow__core__fernet_key", r"'airflow__core__fernet_key' names Airflow's own"),
        ("_AIRFLOW_PROCESS_CONTEXT", r"'_AIRFLOW_PROCESS_CONTEXT' names Airflow's own"),
        ("MY VAR", r"'MY VAR' is not a variable name or a glob of one"),
        ("TOKEN=abc", r"'TOKEN=abc' is not a variable name or a glob of one"),
    ],
)
def test_a_bad_allow_setting_is_refused_naming_the_pattern(
    monkeypatch: pytest.MonkeyPatch, value: str, message: str
) -> None:
    monkeypatch.setenv("TFX_DAGS_NODE_ENV_ALLOW", value)
    with pytest.raises(ConfigError, match=rf"TFX_DAGS_NODE_ENV_ALLOW: {message}"):
        node_env.allowed({})


def test_the_home_the_airflow_side_uses_reaches_the_node_without_airflow_home(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Installed from a wheel, the home is $AIRFLOW_HOME/tfx-dags; AIRFLOW_HOME stays behind.
    monkeypatch.delenv("TFX_DAGS_HOME", raising=False)
    monkeypatch.setattr(settings, "checkout", lambda: None)
    monkeypatch.setenv("AIRFLOW_HOME", "/opt/airflow")
    env = node_env.allowed()
    assert env["TFX_DAGS_HOME"] == "/opt/airflow/tfx-dags"
    assert "AIRFLOW_HOME" not in env
    # A given environment is filtered as it is.
    assert "TFX_DAGS_HOME" not in node_env.allowed({"PATH": "/bin"})


def test_a_compile_is_current_while_what_the_compile_would_see_is_unchanged() -> None:
    # The user's files read HOME and AIRFLOW_VAR_X (unset for them) at the compile.
    manifest = Manifest(
        pipeline_name="p",
        nodes=(TfxNode("A", "x", ()),),
        environment={"HOME": environment_digest("/home/ml"), "AIRFLOW_VAR_X": None},
    )
    # The Airflow side's AIRFLOW_VAR_X never reaches a compile: no recompile for it.
    assert compile_entries.inputs_unchanged(manifest, node_env.allowed({"HOME": "/home/ml"}))
    assert not compile_entries.inputs_unchanged(manifest, {"HOME": "/home/other"})
