from __future__ import annotations

from pathlib import Path

import pytest

from tfx_dags.airflow import compile_cache, compile_key, compile_process, compile_sources
from tfx_dags.common import settings
from tfx_dags.common.contract import COMPILE_ERROR_MARKER
from tfx_dags.common.errors import ConfigError, PipelineCompileError
from tfx_dags.common.pipeline_ref import parse_pipeline_ref
from tfx_dags.common.reply import Outcome, Reply, write_reply

PENGUIN = parse_pipeline_ref("modules.penguin.pipeline:create_pipeline")


def test_a_dotted_reference_is_located_without_importing_it() -> None:
    source = compile_sources.pipeline_source(PENGUIN)
    assert source == settings.PROJECT_ROOT / "modules" / "penguin" / "pipeline.py"


def test_the_whole_top_level_package_is_hashed() -> None:
    files = compile_sources.source_files(PENGUIN, compile_sources.pipeline_source(PENGUIN))
    names = {path.relative_to(settings.PROJECT_ROOT).as_posix() for path in files}
    assert {
        "modules/__init__.py",
        "modules/penguin/model.py",
        "modules/penguin/pipeline.py",
    } <= names


def test_the_cache_key_changes_with_arguments_and_sources(tmp_path: Path) -> None:
    source = tmp_path / "pipe.py"
    source.write_text("def make(**kw): ...\n")
    ref = parse_pipeline_ref(f"{source}:make")
    files = compile_sources.source_files(ref, source)
    key = compile_key.cache_key("d", ref, {"steps": 1}, files, "tfx115")
    assert key == compile_key.cache_key("d", ref, {"steps": 1}, files, "tfx115")
    assert key != compile_key.cache_key("d", ref, {"steps": 2}, files, "tfx115")
    assert key != compile_key.cache_key("other", ref, {"steps": 1}, files, "tfx115")
    # Another TFX environment, or other versions installed in it.
    assert key != compile_key.cache_key("d", ref, {"steps": 1}, files, "tfx116")
    (tmp_path / "helper.py").write_text("X = 1\n")
    assert key != compile_key.cache_key(
        "d", ref, {"steps": 1}, compile_sources.source_files(ref, source), "tfx115"
    )


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        ("/nowhere/pipe.py:make", "pipeline file /nowhere/pipe.py does not exist"),
        ("modules.no_such_module:make", "module 'modules.no_such_module' not found"),
        ("no_such_package.pipe:make", "cannot locate module 'no_such_package.pipe'"),
    ],
)
def test_missing_pipeline_sources_are_reported(reference: str, message: str) -> None:
    with pytest.raises(PipelineCompileError, match=message):
        compile_sources.pipeline_source(parse_pipeline_ref(reference))


def test_a_missing_tfx_environment_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TFX_DAGS_TFX_PYTHON", str(tmp_path / "no-python"))
    monkeypatch.setenv("TFX_DAGS_COMPILED_DIR", str(tmp_path / "cache"))
    with pytest.raises(ConfigError, match=r"no-python does not exist; build it \(make setup\)"):
        compile_cache.ensure_compiled(cache_name="d", ref=PENGUIN, kwargs={})


def test_the_reason_is_the_compiles_reply_or_how_it_ended(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def compiles(reply: Reply | None, code: int, output: str) -> None:
        def run(command: list[str], **kwargs: object) -> tuple[int, str]:
            if reply is not None:
                write_reply(command[command.index("--reply") + 1], reply)
            return code, output

        monkeypatch.setattr(compile_process.node_client, "run", run)

    stderr = f"Traceback ...\n  File x\nValueError: boom\n{COMPILE_ERROR_MARKER}ValueError: boom\n"
    compiles(Reply(Outcome.FAILED, "ValueError: boom"), 1, stderr)
    assert compile_process._failure(["python"], {}, 5) == "ValueError: boom"
    compiles(None, 1, "a\nb\nc\n")
    assert compile_process._failure(["python"], {}, 5) == "exit code 1: a | b | c"
    compiles(Reply(Outcome.OK), 0, "")
    assert compile_process._failure(["python"], {}, 5) is None


def test_settings_reject_bad_numbers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TFX_DAGS_COMPILE_TIMEOUT", "soon")
    with pytest.raises(ConfigError, match="TFX_DAGS_COMPILE_TIMEOUT='soon' is not a number"):
        settings.compile_timeout_s()
    monkeypatch.setenv("TFX_DAGS_COMPILE_TIMEOUT", "-5")
    with pytest.raises(ConfigError, match="must be a positive number of seconds"):
        settings.compile_timeout_s()


def test_a_package_beside_the_dag_files_goes_to_the_compile_with_its_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As Airflow puts the DAG folder on the path: a team's package there, another without
    # __init__.py, and a top-level module.
    (tmp_path / "team_code" / "stats").mkdir(parents=True)
    (tmp_path / "team_code" / "__init__.py").write_text("")
    (tmp_path / "team_loose").mkdir()
    (tmp_path / "team_module.py").write_text("def make(): ...\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    for reference in ("team_code.stats.pipeline:make", "team_loose.p:make", "team_module:make"):
        assert compile_sources.user_code_path(parse_pipeline_ref(reference)) == tmp_path
    # Installed distributions, tfx_dags itself and pipeline files are not handed over.
    for reference in ("_pytest.python_api:approx", "tfx_dags.authoring.pipelines:f", "/a/p.py:f"):
        assert compile_sources.user_code_path(parse_pipeline_ref(reference)) is None


def test_the_cache_key_changes_with_the_user_code_folder(tmp_path: Path) -> None:
    ref = parse_pipeline_ref("team_code.pipeline:make")
    key = compile_key.cache_key("d", ref, {}, [], "tfx115")
    assert key == compile_key.cache_key("d", ref, {}, [], "tfx115", user_code=None)
    assert key != compile_key.cache_key("d", ref, {}, [], "tfx115", user_code=tmp_path)
