"""What the TFX side sees of the Airflow side's environment (tfx_dags.airflow.node_env): an
allow-list, never Airflow's secrets; through the operator and the compile, with real
processes (a stand-in interpreter that writes down its environment)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from airflow.sdk.exceptions import AirflowFailException

from tfx_dags.airflow import compile_cache, compile_entries, node_env
from tfx_dags.airflow.operators import TfxNodeOperator
from tfx_dags.common import settings
from tfx_dags.common.contract import STORE_ENV, URI_ENV
from tfx_dags.common.errors import ConfigError, PipelineCompileError
from tfx_dags.common.graph import TfxNode
from tfx_dags.common.manifest import Manifest, environment_digest
from tfx_dags.common.pipeline_ref import parse_pipeline_ref
from tfx_dags.node_server import client as node_client

# What an Airflow worker's environment holds that no user's code may see.
SECRETS = {
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "postgresql://airflow:db-secret@db/airflow",
    "AIRFLOW__CORE__FERNET_KEY": "fernet-secret",
    "AIRFLOW__API_AUTH__JWT_SECRET": "jwt-secret",
    "AIRFLOW__CELERY__BROKER_URL": "redis://:broker-secret@redis:6379/0",
    "AIRFLOW_CONN_WAREHOUSE": "postgresql://etl:conn-secret@warehouse/dw",
    "AIRFLOW_VAR_API_TOKEN": "var-secret",
    "AIRFLOW_CTX_DAG_ID": "penguin",
    "AIRFLOW_HOME": "/opt/airflow",
    "_AIRFLOW_PROCESS_CONTEXT": "server",
    "DATABASE_URL": "postgresql://app:app-secret@db/app",
}
# What TFX, TensorFlow, Beam and Python need.
NEEDED = {
    "PATH": "/usr/bin:/bin",
    "HOME": "/home/ml",
    "USER": "ml",
    "TMPDIR": "/scratch",
    "LANG": "C.UTF-8",
    "LC_ALL": "C.UTF-8",
    "TZ": "UTC",
    "https_proxy": "http://proxy:3128",
    "NO_PROXY": "localhost",
    "PYTHONPATH": "/srv/user-code",
    "LD_LIBRARY_PATH": "/usr/local/cuda/lib64",
    "TF_CPP_MIN_LOG_LEVEL": "1",
    "CUDA_VISIBLE_DEVICES": "0",
    "XLA_FLAGS": "--xla_gpu_cuda_data_dir=/usr/local/cuda",
    "GRPC_ENABLE_FORK_SUPPORT": "1",
    "TFX_DAGS_HOME": "/srv/tfx-dags",
    URI_ENV: "mysql://mlmd:mlmd-secret@mlmd/mlmd",
}


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
