"""TFX environments by name (tfx_dags.common.tfx_envs): declared, chosen, and what they hold."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from tfx_dags.airflow.dag_config import PipelineDagConfig
from tfx_dags.common import settings, tfx_envs
from tfx_dags.common.errors import ConfigError

ENVS = {"tfx115": "/venvs/tfx115/bin/python", "tfx116": "/venvs/tfx116/bin/python"}


@pytest.fixture(autouse=True)
def no_declared_envs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TFX_DAGS_TFX_ENVS", raising=False)
    monkeypatch.delenv("TFX_DAGS_DEFAULT_TFX_ENV", raising=False)


def fake_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *dists: str) -> Path:
    """An interpreter whose site-packages (recorded as if asked once) hold ``dists``."""
    venv = tmp_path / "venv"
    site = venv / "lib" / "python3.11" / "site-packages"
    site.mkdir(parents=True)
    for dist in dists:
        (site / f"{dist}.dist-info").mkdir()
    python = venv / "bin" / "python"
    python.parent.mkdir()
    python.symlink_to("/usr/bin/env")  # a venv's python links to the base interpreter
    monkeypatch.setenv("TFX_DAGS_COMPILED_DIR", str(tmp_path / "compiled"))
    stat = python.lstat()
    identity = f"{python}|{stat.st_ino}|{stat.st_mtime_ns}"
    record = tmp_path / "compiled" / ".environments"
    record.mkdir(parents=True)
    name = hashlib.sha256(identity.encode()).hexdigest()[:20] + ".json"
    (record / name).write_text(json.dumps([str(site)]))
    return python


def test_without_declarations_the_one_environment_is_tfx_dags_tfx_python(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TFX_DAGS_TFX_PYTHON", "/opt/tfx/bin/python")
    assert tfx_envs.declared() == {
        "default": tfx_envs.TfxEnv("default", Path("/opt/tfx/bin/python"))
    }
    assert tfx_envs.resolve().name == "default"


def test_declared_environments_by_name_the_first_or_the_named_one_by_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TFX_DAGS_TFX_ENVS", json.dumps(ENVS))
    assert tfx_envs.resolve() == tfx_envs.TfxEnv("tfx115", Path(ENVS["tfx115"]))
    assert tfx_envs.resolve("tfx116").python == Path(ENVS["tfx116"])
    monkeypatch.setenv("TFX_DAGS_DEFAULT_TFX_ENV", "tfx116")
    assert tfx_envs.resolve().name == "tfx116"


def test_an_unknown_environment_names_the_declared_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TFX_DAGS_TFX_ENVS", json.dumps(ENVS))
    with pytest.raises(ConfigError, match=r"tfx_env='tfx121' .* \['tfx115', 'tfx116'\]"):
        tfx_envs.resolve("tfx121")
    monkeypatch.setenv("TFX_DAGS_DEFAULT_TFX_ENV", "tfx114")
    with pytest.raises(ConfigError, match="TFX_DAGS_DEFAULT_TFX_ENV=.tfx114. is not a declared"):
        tfx_envs.resolve()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("tfx115=/venvs/tfx115/bin/python", "neither a JSON object nor a readable file"),
        ('{"tfx115": }', "is not JSON"),
        ("{}", "non-empty JSON object"),
        ('{"tfx 115": "/venvs/a/bin/python"}', "'tfx 115'"),
        ('{"tfx115": ""}', "give its interpreter's path"),
        ('{"tfx116": {"env": {"TF_USE_LEGACY_KERAS": "1"}}}', "give its interpreter's path"),
        ('{"tfx116": {"python": "/p", "env": {"TF_USE_LEGACY_KERAS": 1}}}', "string value"),
    ],
)
def test_a_bad_declaration_says_how_to_write_one(
    monkeypatch: pytest.MonkeyPatch, value: str, message: str
) -> None:
    monkeypatch.setenv("TFX_DAGS_TFX_ENVS", value)
    with pytest.raises(ConfigError, match=message):
        tfx_envs.declared()


def test_a_declaration_file_with_relative_interpreters_and_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As the checkout's tfx-envs.json: interpreters from the file's folder, and what TFX
    # 1.16 needs set in every process of its environment.
    declaration = {
        "tfx115": "venvs/tfx115/bin/python",
        "tfx116": {"python": "venvs/tfx116/bin/python", "env": {"TF_USE_LEGACY_KERAS": "1"}},
    }
    (tmp_path / "tfx-envs.json").write_text(json.dumps(declaration))
    monkeypatch.setenv("TFX_DAGS_TFX_ENVS", str(tmp_path / "tfx-envs.json"))
    monkeypatch.chdir("/")
    tfx116 = tfx_envs.resolve("tfx116")
    assert tfx116.python == tmp_path / "venvs" / "tfx116" / "bin" / "python"
    assert tfx116.environ({"PATH": "/bin", "TF_USE_LEGACY_KERAS": "0"}) == {
        "PATH": "/bin",
        "TF_USE_LEGACY_KERAS": "1",
    }
    assert tfx_envs.resolve().name == "tfx115" and tfx_envs.resolve().variables == {}
    assert tfx_envs.variables_of(tfx116.python) == {"TF_USE_LEGACY_KERAS": "1"}
    assert tfx_envs.variables_of(Path("/usr/bin/python3")) == {}


def test_a_checkout_declares_the_lines_make_setup_builds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TFX_DAGS_TFX_PYTHON", raising=False)
    envs = tfx_envs.declared()
    assert list(envs) == ["tfx115", "tfx116"]
    assert envs["tfx115"].python == settings.PROJECT_ROOT / ".venv-tfx115" / "bin" / "python"
    assert envs["tfx116"].variables == {"TF_USE_LEGACY_KERAS": "1"}
    # An explicit interpreter is the one environment, as before environments had names.
    monkeypatch.setenv("TFX_DAGS_TFX_PYTHON", "/opt/tfx/bin/python")
    assert list(tfx_envs.declared()) == ["default"]


def test_a_virtualenv_interpreter_is_kept_as_its_link(monkeypatch: pytest.MonkeyPatch) -> None:
    # Resolving bin/python would run the base interpreter, without the virtualenv.
    monkeypatch.setenv("TFX_DAGS_TFX_ENVS", json.dumps({"tfx115": "~/venvs/tfx115/bin/python"}))
    python = tfx_envs.resolve().python
    assert python.is_absolute() and python.parts[-4:] == ("venvs", "tfx115", "bin", "python")


def test_installed_versions_come_from_the_environment_not_from_this_repository(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    python = fake_environment(
        tmp_path, monkeypatch, "tfx-1.16.0", "tensorflow-2.16.2", "tf_keras-2.16.0", "six-1.16.0"
    )
    env = tfx_envs.TfxEnv("tfx116", python)
    assert tfx_envs.installed(env) == {
        "tensorflow": "2.16.2",
        "tf-keras": "2.16.0",
        "tfx": "1.16.0",
    }
    digest = tfx_envs.installed_digest(env)
    # Another distribution (a test tool) changes nothing; another TFX line does.
    site = python.parents[1] / "lib" / "python3.11" / "site-packages"
    (site / "pytest-9.2.0.dist-info").mkdir()
    assert tfx_envs.installed_digest(env) == digest
    (site / "tfx-1.16.0.dist-info").rename(site / "tfx-1.16.1.dist-info")
    assert tfx_envs.installed_digest(env) != digest
    assert tfx_envs.installed_digest(tfx_envs.TfxEnv("other", python)) != digest


def test_a_missing_interpreter_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    env = tfx_envs.TfxEnv("tfx116", Path("/nonexistent/venv/bin/python"))
    with pytest.raises(ConfigError, match="interpreter /nonexistent/venv/bin/python does not"):
        tfx_envs.installed(env)


def test_a_dag_naming_an_undeclared_environment_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TFX_DAGS_TFX_ENVS", json.dumps(ENVS))
    config = {"dag_id": "d", "pipeline": "modules.penguin.pipeline:create_pipeline"}
    PipelineDagConfig(**config, tfx_env="tfx116").check()
    with pytest.raises(ConfigError, match="tfx_env='tfx15' is not a TFX environment"):
        PipelineDagConfig(**config, tfx_env="tfx15").check()


def test_a_read_only_cache_still_gets_the_environments_versions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A baked image's compile cache: the site-packages answer cannot be kept, only used.
    # (A file in the folder's place: root could write into any read-only folder.)
    (tmp_path / "not-writable").write_text("")
    monkeypatch.setenv("TFX_DAGS_COMPILED_DIR", str(tmp_path / "not-writable"))
    monkeypatch.setattr(tfx_envs.subprocess, "run", lambda *a, **k: Answer())
    env = tfx_envs.TfxEnv("tfx115", Path("/usr/bin/env"))
    assert tfx_envs.installed(env) == {}
    assert not (tmp_path / "not-writable").is_dir()


class Answer:
    stdout = json.dumps(["/nonexistent/site-packages"])
