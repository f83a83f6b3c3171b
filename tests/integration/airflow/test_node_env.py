"""What the TFX side sees of the Airflow side's environment, with real processes: a
stand-in interpreter that writes down its environment, started by the operator, the compile
and the node client; never Airflow's secrets."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from airflow.sdk.exceptions import AirflowFailException

from tests.support.environments import NEEDED, SECRETS
from tfx_dags.airflow import compile_cache
from tfx_dags.airflow.operators import TfxNodeOperator
from tfx_dags.common.contract import STORE_ENV, URI_ENV
from tfx_dags.common.errors import PipelineCompileError
from tfx_dags.common.pipeline_ref import parse_pipeline_ref
from tfx_dags.node_server import client as node_client

# Real processes, no DAG run: in make test-fast.
pytestmark = pytest.mark.quick


def write_environment_python(path: Path, record: Path) -> Path:
    """A stand-in TFX interpreter: writes its environment to ``record``, replies as a
    TFX-side command does (``ok``, or with EXIT_CODE=1 ``failed``), and answers the
    site-packages question tfx_envs asks an interpreter (none)."""
    path.write_text(
        f"#!{sys.executable}\n"
        "import json, os, sys\n"
        "if '-c' in sys.argv:\n"
        "    print('[]')\n"
        "    sys.exit(0)\n"
        f"open({str(record)!r}, 'w').write(json.dumps(dict(os.environ)))\n"
        "print('tfx_dags compile error: the stand-in compiles nothing', flush=True)\n"
        "code = int(os.environ.get('EXIT_CODE', '0'))\n"
        "if '--reply' in sys.argv:\n"
        "    reply = {'outcome': 'failed' if code else 'ok', 'result': None,\n"
        "             'message': 'the stand-in compiles nothing' if code else ''}\n"
        "    open(sys.argv[sys.argv.index('--reply') + 1], 'w').write(json.dumps(reply))\n"
        "sys.exit(code)\n"
    )
    path.chmod(0o755)
    return path


@pytest.fixture
def stand_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The deployment: Airflow's secrets in its environment, a TFX environment (the stand-in)
    that declares a variable; the file the stand-in writes its environment to."""
    record = tmp_path / "environment.json"
    python = write_environment_python(tmp_path / "python", record)
    declared = {"fake": {"python": str(python), "env": {"TF_USE_LEGACY_KERAS": "1"}}}
    monkeypatch.setenv("TFX_DAGS_TFX_ENVS", json.dumps(declared))
    monkeypatch.setenv("TFX_DAGS_COMPILED_DIR", str(tmp_path / "compiled"))
    monkeypatch.setenv("TFX_DAGS_NODE_SERVER", "off")
    monkeypatch.delenv("TFX_DAGS_NODE_ENV_ALLOW", raising=False)
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    return record


def assert_no_secret(environment: dict[str, str]) -> None:
    leaked = [name for name in environment if name in SECRETS or name.startswith("AIRFLOW")]
    assert leaked == []
    values = "\n".join(environment.values())
    assert [value for value in SECRETS.values() if value in values] == []


def test_the_node_gets_the_allow_list_the_dags_env_its_store_and_its_tfx_environments(
    stand_in: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # ML Metadata through an Airflow connection (its env-var form), as a deployment has it.
    monkeypatch.setenv("AIRFLOW_CONN_TFX_DAGS_METADATA", "mysql://mlmd:mlmd-pw@mlmd:3306/mlmd")
    operator = TfxNodeOperator(
        task_id="Trainer",
        pipeline_ir="/x/pipeline_ir.pb",
        node_id="Trainer",
        node_env={"RUN_MODE": "nightly", "TF_CPP_MIN_LOG_LEVEL": "2"},
        metadata_store="deployment",
    )
    operator.execute({"run_id": "manual__1", "params": {}})
    environment = json.loads(stand_in.read_text())
    assert_no_secret(environment)
    assert "mlmd-pw" in environment[URI_ENV]  # the node's own store: a secret it needs
    assert environment[STORE_ENV] == "deployment"
    assert environment["RUN_MODE"] == "nightly"  # the DAG's task_overrides env
    assert environment["TF_CPP_MIN_LOG_LEVEL"] == "2"
    assert environment["TF_USE_LEGACY_KERAS"] == "1"  # declared by its TFX environment
    assert environment["PATH"] and environment["TFX_DAGS_HOME"]


def test_a_bad_allow_setting_fails_the_task_without_a_retry(
    stand_in: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TFX_DAGS_NODE_ENV_ALLOW", "AIRFLOW_VAR_*")
    operator = TfxNodeOperator(task_id="Pusher", pipeline_ir="/x/ir.pb", node_id="Pusher")
    with pytest.raises(AirflowFailException, match="the node's environment: TFX_DAGS_NODE_ENV"):
        operator.execute({"run_id": "manual__1", "params": {}})
    assert not stand_in.exists()


def test_the_compile_runs_the_users_pipeline_file_without_airflows_secrets(
    stand_in: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EXIT_CODE", "1")
    monkeypatch.setenv("TFX_DAGS_NODE_ENV_ALLOW", "EXIT_CODE")
    with pytest.raises(PipelineCompileError, match="the stand-in compiles nothing"):
        compile_cache.ensure_compiled(
            cache_name="penguin",
            ref=parse_pipeline_ref("modules.penguin.pipeline:create_pipeline"),
            kwargs={},
        )
    environment = json.loads(stand_in.read_text())
    assert_no_secret(environment)
    assert environment["TF_USE_LEGACY_KERAS"] == "1"
    assert environment["HOME"] and environment["PATH"]


def test_the_node_server_starts_without_airflows_variables_or_the_metadata_uri(
    tmp_path: Path,
) -> None:
    # It outlives the task that starts it; a caller that hands over its whole environment
    # (a test, a benchmark) still gives it none of Airflow's variables.
    record = tmp_path / "server-environment.json"
    python = write_environment_python(tmp_path / "python", record)
    server = node_client._spawn_server(python, tmp_path / "server.sock", {**SECRETS, **NEEDED})
    assert server.wait(timeout=30) == 0
    environment = json.loads(record.read_text())
    assert [name for name in environment if "AIRFLOW" in name] == []
    assert URI_ENV not in environment
    assert environment["PATH"] == NEEDED["PATH"]
