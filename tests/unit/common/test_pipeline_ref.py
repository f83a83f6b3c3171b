from __future__ import annotations

from pathlib import Path

import pytest

from tfx_dags.common import settings
from tfx_dags.common.errors import ConfigError, PipelineCompileError
from tfx_dags.common.pipeline_ref import (
    DottedPipeline,
    PipelineFile,
    RunnerFile,
    parse_pipeline_ref,
)

PENGUIN = parse_pipeline_ref("modules.penguin.pipeline:create_pipeline")


def test_each_form_parses_to_its_kind_and_back() -> None:
    for text, kind in [
        ("modules.penguin.pipeline:create_pipeline", DottedPipeline),
        ("/srv/pipelines/churn.py:make", PipelineFile),
        ("/srv/dags/taxi_pipeline_simple.py", RunnerFile),
    ]:
        ref = parse_pipeline_ref(text)
        assert type(ref) is kind and str(ref) == text
    assert parse_pipeline_ref("/srv/pipelines/churn.py:make") == PipelineFile(
        "/srv/pipelines/churn.py", "make"
    )


@pytest.mark.parametrize(
    "text", ["pipelines/churn.py:make", "modules.penguin.pipeline", "a b:c", "/x.py:1f"]
)
def test_other_text_is_no_reference(text: str) -> None:
    with pytest.raises(ConfigError, match=f"pipeline={text!r} is not a pipeline reference"):
        parse_pipeline_ref(text)


def test_functions_take_the_factorys_arguments_and_a_runner_file_none() -> None:
    shared = {"data_root": "/d", "steps": {"train": 10}}
    for ref in (PENGUIN, parse_pipeline_ref("/srv/p.py:make")):
        assert ref.takes_kwargs and not ref.names_itself
        assert ref.cache_name("penguin") == "penguin"
        kwargs = ref.compile_kwargs("penguin", shared)
        assert kwargs == {
            **shared,
            "pipeline_name": "penguin",
            "pipeline_root": str(settings.pipeline_root("penguin")),
        }
        kwargs["steps"]["train"] = 99  # the DAG file's own mapping is never changed
        assert shared["steps"] == {"train": 10}
    runner = parse_pipeline_ref("/srv/dags/taxi.py")
    assert not runner.takes_kwargs and runner.names_itself
    assert runner.compile_kwargs("penguin", shared) == {}


def test_a_runner_files_cache_name_keeps_two_files_of_one_name_apart() -> None:
    one, other = RunnerFile("/srv/a/taxi.py"), RunnerFile("/srv/b/taxi.py")
    assert one.cache_name().startswith("taxi.") and one.cache_name() != other.cache_name()
    assert one.cache_name("any_dag_id") == one.cache_name()


def test_a_dotted_reference_is_located_without_importing_its_module() -> None:
    sources = PENGUIN.locate()
    assert sources.source == settings.PROJECT_ROOT / "modules" / "penguin" / "pipeline.py"
    # The whole top-level package is hashed.
    names = {path.relative_to(settings.PROJECT_ROOT).as_posix() for path in sources.files}
    assert {
        "modules/__init__.py",
        "modules/penguin/model.py",
        "modules/penguin/pipeline.py",
    } <= names


def test_a_files_sources_are_its_folders_python_files(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    for name in ("pipe.py", "helper.py", "sub/more.py", "notes.txt"):
        (tmp_path / name).write_text("")
    for ref in (
        PipelineFile(str(tmp_path / "pipe.py"), "make"),
        RunnerFile(str(tmp_path / "pipe.py")),
    ):
        sources = ref.locate()
        assert sources.source == tmp_path / "pipe.py" and sources.user_code is None
        assert [path.relative_to(tmp_path).as_posix() for path in sources.files] == [
            "helper.py",
            "pipe.py",
            "sub/more.py",
        ]


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        ("/nowhere/pipe.py:make", "pipeline file /nowhere/pipe.py does not exist"),
        ("/nowhere/runner.py", "pipeline file /nowhere/runner.py does not exist"),
        ("modules.no_such_module:make", "module 'modules.no_such_module' not found"),
        ("no_such_package.pipe:make", "cannot locate module 'no_such_package.pipe'"),
    ],
)
def test_missing_pipeline_sources_are_reported(reference: str, message: str) -> None:
    with pytest.raises(PipelineCompileError, match=message):
        parse_pipeline_ref(reference).locate()


def test_a_package_beside_the_dag_files_goes_to_the_compile_with_its_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As Airflow puts the DAG folder on the path: a team's package there, another without
    # __init__.py, and a top-level module.
    (tmp_path / "team_code" / "stats").mkdir(parents=True)
    (tmp_path / "team_code" / "__init__.py").write_text("")
    (tmp_path / "team_code" / "stats" / "pipeline.py").write_text("def make(): ...\n")
    (tmp_path / "team_loose").mkdir()
    (tmp_path / "team_loose" / "p.py").write_text("def make(): ...\n")
    (tmp_path / "team_module.py").write_text("def make(): ...\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    for reference in ("team_code.stats.pipeline:make", "team_loose.p:make", "team_module:make"):
        assert parse_pipeline_ref(reference).locate().user_code == tmp_path
    # Installed distributions and tfx_dags itself are not handed over.
    for reference in ("pytest:fixture", "tfx_dags.common.settings:home"):
        assert parse_pipeline_ref(reference).locate().user_code is None
