"""Pipeline files and DAG-folder packages loaded as Python would run them, without TFX: the
module name, what an AirflowDagRunner file hands over, and the environment its code reads."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tfx_dags.common.manifest import environment_digest
from tfx_dags.common.pipeline_ref import DottedPipeline, PipelineFile, RunnerFile
from tfx_dags.compiler.definitions import (
    DefinitionError,
    load_definition,
)
from tfx_dags.tfx_process.runner_stand_ins import AIRFLOW

RUNNER_FILE = """
import datetime
import os
from types import SimpleNamespace

from tfx.orchestration.airflow.airflow_dag_runner import AirflowDagRunner, AirflowPipelineConfig

_root = os.path.join(os.environ["TFX_DAGS_TEST_ROOT"], "tfx")
_flag = os.getenv("TFX_DAGS_TEST_UNSET")
_pipeline = SimpleNamespace(pipeline_info=SimpleNamespace(pipeline_name="legacy"), root=_root)
DAG = AirflowDagRunner(AirflowPipelineConfig({
    "schedule_interval": datetime.timedelta(days=1),
    "start_date": datetime.datetime(2019, 1, 1),
    "default_args": {"retries": 2},
})).run(_pipeline)
"""


@pytest.fixture
def clean_modules() -> Iterator[None]:
    before = set(sys.modules)
    path = list(sys.path)
    yield
    for name in set(sys.modules) - before:
        del sys.modules[name]
    sys.path[:] = path


def test_an_airflow_runner_file_hands_over_its_pipeline_settings_and_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clean_modules: None
) -> None:
    monkeypatch.setenv("TFX_DAGS_TEST_ROOT", "/home/me")
    monkeypatch.delenv("TFX_DAGS_TEST_UNSET", raising=False)
    (tmp_path / "legacy_dag.py").write_text(RUNNER_FILE)
    definition = load_definition(RunnerFile(str(tmp_path / "legacy_dag.py")), {})
    assert definition.pipeline.root == "/home/me/tfx"
    assert definition.python_path == [str(tmp_path.resolve())]
    assert definition.airflow == {
        "schedule_interval": {"timedelta_s": timedelta(days=1).total_seconds()},
        "start_date": {"datetime": datetime(2019, 1, 1).isoformat()},
        "default_args": {"retries": 2},
    }
    # What the file read, not what this test or any library read.
    assert definition.environment == {
        "TFX_DAGS_TEST_ROOT": environment_digest("/home/me"),
        "TFX_DAGS_TEST_UNSET": None,
    }
    assert "/home/me" not in str(definition.environment)
    assert type(sys.modules[AIRFLOW]).__name__ == "module"


def test_settings_tfx_dags_cannot_carry_over_are_refused_by_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clean_modules: None
) -> None:
    monkeypatch.setenv("TFX_DAGS_TEST_ROOT", "/home/me")
    text = RUNNER_FILE.replace('"default_args"', '"concurrency": 4, "default_args"')
    (tmp_path / "legacy_dag.py").write_text(text)
    with pytest.raises(DefinitionError, match=r"sets \['concurrency'\], which tfx_dags does not"):
        load_definition(RunnerFile(str(tmp_path / "legacy_dag.py")), {})


def test_a_file_named_like_an_installed_module_is_refused(
    tmp_path: Path, clean_modules: None
) -> None:
    for name in ("json.py", "fractions.py"):  # imported already, and not yet
        (tmp_path / name).write_text("def create_pipeline():\n    return None\n")
        with pytest.raises(DefinitionError, match=f"would be the module '{name[:-3]}'"):
            load_definition(PipelineFile(str(tmp_path / name), "create_pipeline"), {})


def test_a_file_function_gets_its_folder_on_the_path_and_its_name_as_module(
    tmp_path: Path, clean_modules: None
) -> None:
    (tmp_path / "helpers_for_my_pipeline.py").write_text("ROWS = 3\n")
    (tmp_path / "my_pipeline.py").write_text(
        "import helpers_for_my_pipeline\n\n"
        "def create_pipeline(scale):\n    return helpers_for_my_pipeline.ROWS * scale\n"
    )
    definition = load_definition(
        PipelineFile(str(tmp_path / "my_pipeline.py"), "create_pipeline"), {"scale": 2}
    )
    assert definition.pipeline == 6
    assert sys.modules["my_pipeline"].__file__ == str(tmp_path / "my_pipeline.py")


def test_a_dotted_reference_from_a_dag_folder_is_loaded_from_that_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clean_modules: None
) -> None:
    package = tmp_path / "dags" / "team_stats_code"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "pipeline.py").write_text(
        "import os\n\ndef create_pipeline(**kwargs):\n"
        "    return {**kwargs, 'root': os.environ['TFX_DAGS_TEST_ROOT']}\n"
    )
    monkeypatch.setenv("TFX_DAGS_TEST_ROOT", "/home/me")
    monkeypatch.delenv("PYTHONPATH", raising=False)
    folder = str(tmp_path / "dags")
    ref = DottedPipeline("team_stats_code.pipeline", "create_pipeline")
    definition = load_definition(ref, {"steps": 1}, [folder])
    assert definition.pipeline == {"steps": 1, "root": "/home/me"}
    # Nodes put the folder first on their path; the package is the user's code.
    assert definition.python_path == [folder]
    assert definition.user_folders == [str(package)]
    assert definition.environment == {"TFX_DAGS_TEST_ROOT": environment_digest("/home/me")}
    assert sys.path[0] == folder and os.environ["PYTHONPATH"] == folder


TEMPLATE_LIKE = """
import json
import os
import sys
from types import SimpleNamespace

from tfx.orchestration.local.local_dag_runner import LocalDagRunner

OUTPUT_DIR = "."
PIPELINE_ROOT = os.path.join(OUTPUT_DIR, "tfx_pipeline_output", "my_taxi")


class Store:  # what a metadata_connection_config answers
    sqlite = SimpleNamespace(filename_uri=os.path.join(OUTPUT_DIR, "tfx_metadata", "m.db"))

    def HasField(self, name):
        return name == "sqlite"


def create_pipeline(pipeline_name, pipeline_root):
    info = SimpleNamespace(pipeline_name=pipeline_name, pipeline_root=pipeline_root)
    serving = {"base_directory": os.path.join(pipeline_root, "serving_model")}
    destination = json.dumps({"filesystem": serving}, indent=2)  # as TFX keeps the proto
    pusher = SimpleNamespace(exec_properties={"push_destination": destination})
    return SimpleNamespace(
        pipeline_info=info, metadata_connection_config=Store(), components=[pusher], cwd=os.getcwd()
    )


def run():
    LocalDagRunner().run(create_pipeline("my_taxi", PIPELINE_ROOT))


if __name__ == "__main__":
    assert sys.argv == [__file__], sys.argv  # as `python local_runner.py`
    run()
"""


def test_a_local_runner_file_runs_as_a_script_from_its_folder(
    tmp_path: Path, clean_modules: None
) -> None:
    (tmp_path / "local_runner.py").write_text(TEMPLATE_LIKE)
    before = os.getcwd(), list(sys.argv)
    definition = load_definition(RunnerFile(str(tmp_path / "local_runner.py")), {})
    assert (os.getcwd(), sys.argv) == before
    folder = str(tmp_path.resolve())
    assert definition.pipeline.cwd == folder
    root = definition.pipeline.pipeline_info.pipeline_root
    assert root == f"{folder}/tfx_pipeline_output/my_taxi"
    store = definition.pipeline.metadata_connection_config.sqlite.filename_uri
    assert store == f"{folder}/tfx_metadata/m.db"
    [pusher] = definition.pipeline.components
    serving = json.loads(pusher.exec_properties["push_destination"])["filesystem"]
    assert serving == {"base_directory": f"{root}/serving_model"}
    assert definition.runner == {"name": "LocalDagRunner", "ignored": []}
    assert definition.working_dir == folder and definition.airflow is None
    # Imported under its own name, so nodes can import what it defines.
    assert sys.modules["local_runner"].__file__ == str(tmp_path / "local_runner.py")


def test_a_kubeflow_v2_file_keeps_its_uri_root_and_names_the_settings_it_ignores(
    tmp_path: Path, clean_modules: None
) -> None:
    text = (
        TEMPLATE_LIKE.replace(
            "from tfx.orchestration.local.local_dag_runner import LocalDagRunner",
            "from tfx.orchestration.kubeflow.v2.kubeflow_v2_dag_runner import (\n"
            "    KubeflowV2DagRunner, KubeflowV2DagRunnerConfig)",
        )
        .replace(
            '    LocalDagRunner().run(create_pipeline("my_taxi", PIPELINE_ROOT))',
            "    config = KubeflowV2DagRunnerConfig(default_image='gcr.io/p/my_taxi')\n"
            "    runner = KubeflowV2DagRunner(config=config, output_filename='p.json')\n"
            "    runner.run(pipeline=create_pipeline('my_taxi', 'gs://bucket/root'))",
        )
        .replace("    run()\n", "    sys.exit(run())\n")
    )  # as absl's app.run() ends
    (tmp_path / "kubeflow_v2_runner.py").write_text(text)
    definition = load_definition(RunnerFile(str(tmp_path / "kubeflow_v2_runner.py")), {})
    assert definition.pipeline.pipeline_info.pipeline_root == "gs://bucket/root"
    assert definition.runner == {
        "name": "KubeflowV2DagRunner",
        "ignored": ["config.default_image", "output_filename"],
    }


def test_a_file_handing_no_pipeline_or_two_to_runners_is_refused_with_what_was_found(
    tmp_path: Path, clean_modules: None
) -> None:
    (tmp_path / "no_runner.py").write_text(TEMPLATE_LIKE.replace("    run()\n", "    pass\n"))
    with pytest.raises(DefinitionError, match=r"no_runner.py handed no pipeline to a TFX runner"):
        load_definition(RunnerFile(str(tmp_path / "no_runner.py")), {})
    twice = TEMPLATE_LIKE.replace("    run()\n", "    run()\n    run()\n")
    (tmp_path / "two_runs.py").write_text(twice)
    with pytest.raises(
        DefinitionError,
        match=r"hands 2 pipelines to TFX runners \(LocalDagRunner: my_taxi, LocalDagRunner: my_t",
    ):
        load_definition(RunnerFile(str(tmp_path / "two_runs.py")), {})
    failing = TEMPLATE_LIKE.replace("    run()\n", "    raise SystemExit(3)\n")
    (tmp_path / "exits.py").write_text(failing)
    with pytest.raises(DefinitionError, match="exits.py exited with 3 under __main__"):
        load_definition(RunnerFile(str(tmp_path / "exits.py")), {})


def test_a_pipeline_function_without_the_factorys_arguments_is_refused_with_the_fix(
    tmp_path: Path, clean_modules: None
) -> None:
    (tmp_path / "local_runner.py").write_text(TEMPLATE_LIKE)
    factory_kwargs = {"pipeline_name": "taxi", "pipeline_root": "/srv/taxi"}
    with pytest.raises(
        DefinitionError,
        match=r"run\(\) takes no pipeline_name or pipeline_root; the factory calls it with .*"
        r"runner_file_dag\('.*local_runner.py'\)",
    ):
        load_definition(PipelineFile(str(tmp_path / "local_runner.py"), "run"), factory_kwargs)
    with pytest.raises(DefinitionError, match=r"takes no \['rows'\]; pipeline_kwargs names"):
        load_definition(
            PipelineFile(str(tmp_path / "local_runner.py"), "create_pipeline"),
            {**factory_kwargs, "rows": 3},
        )


@pytest.mark.parametrize(
    ("names", "call", "ignored"),
    [
        ("beam.beam_dag_runner import BeamDagRunner", "BeamDagRunner()", []),
        (
            "kubeflow.kubeflow_dag_runner import KubeflowDagRunner, KubeflowDagRunnerConfig, "
            "get_default_kubeflow_metadata_config",
            "KubeflowDagRunner(config=KubeflowDagRunnerConfig(kubeflow_metadata_config="
            "get_default_kubeflow_metadata_config(), tfx_image='gcr.io/p/i'), "
            "pod_labels_to_attach={'add-pod-env': 'true'})",
            ["config.kubeflow_metadata_config", "config.tfx_image", "pod_labels_to_attach"],
        ),
    ],
)
def test_every_runner_is_recorded_at_import_with_the_settings_it_ignores(
    tmp_path: Path, clean_modules: None, names: str, call: str, ignored: list[str]
) -> None:
    text = TEMPLATE_LIKE.replace(
        "from tfx.orchestration.local.local_dag_runner import LocalDagRunner",
        f"from tfx.orchestration.{names}",
    ).replace("    LocalDagRunner().run(", f"    {call}.run(")
    (tmp_path / "pipeline_at_import.py").write_text(text + "\nrun()\n")
    definition = load_definition(RunnerFile(str(tmp_path / "pipeline_at_import.py")), {})
    runner = call.partition("(")[0]
    assert definition.runner == {"name": runner, "ignored": ignored}
    assert definition.pipeline.pipeline_info.pipeline_name == "my_taxi"
