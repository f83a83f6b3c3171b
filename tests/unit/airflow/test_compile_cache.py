from __future__ import annotations

from pathlib import Path

import pytest

from tfx_dags.airflow import compile_cache, compile_key, compile_process
from tfx_dags.common import settings
from tfx_dags.common.contract import COMPILE_ERROR_MARKER
from tfx_dags.common.errors import ConfigError
from tfx_dags.common.pipeline_ref import parse_pipeline_ref
from tfx_dags.common.reply import Outcome, Reply, write_reply

PENGUIN = parse_pipeline_ref("modules.penguin.pipeline:create_pipeline")


def test_the_cache_key_changes_with_arguments_and_sources(tmp_path: Path) -> None:
    source = tmp_path / "pipe.py"
    source.write_text("def make(**kw): ...\n")
    ref = parse_pipeline_ref(f"{source}:make")
    files = ref.locate().files
    key = compile_key.cache_key("d", ref, {"steps": 1}, files, "tfx115")
    assert key == compile_key.cache_key("d", ref, {"steps": 1}, files, "tfx115")
    assert key != compile_key.cache_key("d", ref, {"steps": 2}, files, "tfx115")
    assert key != compile_key.cache_key("other", ref, {"steps": 1}, files, "tfx115")
    # Another TFX environment, or other versions installed in it.
    assert key != compile_key.cache_key("d", ref, {"steps": 1}, files, "tfx116")
    (tmp_path / "helper.py").write_text("X = 1\n")
    assert key != compile_key.cache_key("d", ref, {"steps": 1}, ref.locate().files, "tfx115")


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


def test_the_cache_key_changes_with_the_user_code_folder(tmp_path: Path) -> None:
    ref = parse_pipeline_ref("team_code.pipeline:make")
    key = compile_key.cache_key("d", ref, {}, [], "tfx115")
    assert key == compile_key.cache_key("d", ref, {}, [], "tfx115", user_code=None)
    assert key != compile_key.cache_key("d", ref, {}, [], "tfx115", user_code=tmp_path)
