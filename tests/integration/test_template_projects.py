"""TFX template projects, as TFX's own CLI makes them, declared with one line each.

`tfx template copy` makes the taxi project (TFX 1.16's CLI) and the penguin project (TFX
1.15's) in the test's folder; the tutorial steps are done as the files' TODOs say (their
`# components.append(...)` lines uncommented). Each project's `local_runner.py` hands its
pipeline to `LocalDagRunner` from `run()` under `if __name__ == "__main__":`; one
`runner_file_dag(...)` line makes it a DAG, and a real Airflow DAG run pushes a blessed model
where the file put it (`OUTPUT_DIR = '.'`: the project's folder), with ML Metadata in the
project's own SQLite store. The Kubeflow runner files of the same projects become DAGs of
the same nodes and edges. The penguin CLI downloads its data: a local proxy hands it the
penguin data this project has.
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from dev import local_airflow
from tfx_dags.common import settings, tfx_envs

TESTS = Path(__file__).resolve().parents[1]
PENGUIN_DATA = TESTS / "tfx_examples" / "penguin" / "data" / "labelled" / "penguins_processed.csv"
pytestmark = pytest.mark.timeout(1200)


@dataclass(frozen=True)
class Template:
    model: str
    pipeline_name: str
    tfx_env: str
    kubeflow_runner: str
    kubeflow_setting: str  # one the Kubeflow runner file sets

    def store(self, project: Path) -> Path:
        return project / "tfx_metadata" / self.pipeline_name / "metadata.db"

    def serving_dir(self, project: Path) -> Path:
        return project / "tfx_pipeline_output" / self.pipeline_name / "serving_model"


TEMPLATES = (
    Template("taxi", "my_taxi", "tfx116", "kubeflow_v2_runner.py", "config.default_image"),
    Template("penguin", "my_penguin", "tfx115", "kubeflow_runner.py", "config.tfx_image"),
)

DAG_FILE = '''"""Airflow DAGs: TFX template projects, unchanged but for their tutorial steps."""
from tfx_dags import runner_file_dag

my_taxi = runner_file_dag("{taxi}/local_runner.py", tfx_env="tfx116", owner="ml-platform")
my_penguin = runner_file_dag("{penguin}/local_runner.py", tfx_env="tfx115", owner="ml-platform")
'''


class PenguinDataProxy(BaseHTTPRequestHandler):
    """An HTTP proxy that answers the penguin template's download with this project's copy
    of the same file, and refuses everything else."""

    def do_GET(self) -> None:  # http.server's name
        if not self.path.endswith("/palmer_penguins/penguins_processed.csv"):
            self.send_error(404, "only the penguin template's data is served here")
            return
        body = PENGUIN_DATA.read_bytes()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def proxy() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), PenguinDataProxy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def copy_template(template: Template, destination: Path, proxy: str) -> None:
    """``tfx template copy`` of the template's TFX environment, then the tutorial's steps."""
    tfx_cli = tfx_envs.resolve(template.tfx_env).python.parent / "tfx"
    env = tfx_envs.resolve(template.tfx_env).environ(
        {**os.environ, "http_proxy": proxy, "no_proxy": ""}
    )
    subprocess.run(
        [
            str(tfx_cli),
            "template",
            "copy",
            f"--model={template.model}",
            f"--pipeline_name={template.pipeline_name}",
            f"--destination_path={destination}",
        ],
        env=env,
        cwd=destination.parent,
        check=True,
        capture_output=True,
    )
    pipeline = destination / "pipeline" / "pipeline.py"
    text = pipeline.read_text()
    done = re.sub(r"^(\s*)# (components\.append\()", r"\1\2", text, flags=re.MULTILINE)
    assert done != text
    pipeline.write_text(done)


class TemplateRuns:
    def __init__(self, home: Path, proxy: str) -> None:
        self.home = home
        self.projects = {
            template.model: home / "projects" / template.model for template in TEMPLATES
        }
        for template in TEMPLATES:
            self.projects[template.model].parent.mkdir(exist_ok=True)
            copy_template(template, self.projects[template.model], proxy)
        dags = home / "dags"
        dags.mkdir()
        (dags / "templates.py").write_text(DAG_FILE.format(**self.projects))
        self.env = local_airflow.environment(home, dags_folder=dags)
        local_airflow.init_db(self.env, log=home / "logs" / "db-migrate.log")
        self.exit_codes: dict[str, int] = {}
        self.logs: dict[str, str] = {}
        for template in TEMPLATES:
            log = home / "logs" / f"{template.pipeline_name}.log"
            name = template.pipeline_name
            self.exit_codes[name] = local_airflow.run_dag(self.env, name, log=log)
            self.logs[name] = log.read_text()

    def query(self, what: str, template: Template, store: Path | None) -> Any:
        env = {**self.env, "TFX_DAGS_METADATA_SQLITE": str(store)} if store else self.env
        return json.loads(local_airflow.tfx_query(env, what, "--pipeline", template.pipeline_name))


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, proxy: str) -> TemplateRuns:
    return TemplateRuns(tmp_path_factory.mktemp("templates"), proxy)


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda template: template.model)
def test_a_template_project_runs_to_a_pushed_model_where_its_file_puts_it(
    runs: TemplateRuns, template: Template
) -> None:
    name = template.pipeline_name
    assert runs.exit_codes[name] == 0, runs.logs[name][-3000:]
    project = runs.projects[template.model]
    store = template.store(project)
    assert f"ML Metadata: SQLite {store} (the pipeline's" in runs.logs[name]
    [run] = runs.query("runs", template, store).values()
    states = {node: details["state"] for node, details in run.items()}
    assert set(states) >= {"CsvExampleGen", "Transform", "Trainer", "Evaluator", "Pusher"}
    assert {state for node, state in states.items() if "resolver" not in node} == {"COMPLETE"}, (
        states
    )
    # Artifacts under the file's own root, relative to its folder.
    root = project / "tfx_pipeline_output" / name
    for node in ("CsvExampleGen", "Trainer", "Evaluator"):
        for artifacts in run[node]["outputs"].values():
            assert all(Path(artifact["uri"]).is_relative_to(root) for artifact in artifacts)
    blessing = Path(run["Evaluator"]["outputs"]["blessing"][0]["uri"])
    assert (blessing / "BLESSED").exists()
    [pushed] = runs.query("pushed-models", template, store)
    assert pushed["model_id"] == run["Trainer"]["outputs"]["model"][0]["id"]
    assert Path(pushed["destination"]).parent == template.serving_dir(project)
    assert (Path(pushed["destination"]) / "saved_model.pb").is_file()
    # Nothing in the deployment's store; nothing where Airflow's processes run.
    assert runs.query("runs", template, None) == {}
    for folder in (settings.PROJECT_ROOT, runs.home):
        assert not (folder / "tfx_pipeline_output").exists()
        assert not (folder / "tfx_metadata").exists()


def test_each_template_project_ran_in_its_own_tfx_line(runs: TemplateRuns) -> None:
    for template in TEMPLATES:
        python = str(tfx_envs.resolve(template.tfx_env).python)
        assert f"'{python}', '-m', 'tfx_dags.runner.node'" in runs.logs[template.pipeline_name]


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda template: template.model)
def test_a_kubeflow_runner_file_makes_the_dag_its_local_runner_makes(
    runs: TemplateRuns,
    template: Template,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from tfx_dags import runner_file_dag

    for name in ("TFX_DAGS_HOME", "AIRFLOW_HOME"):
        monkeypatch.setenv(name, runs.env[name])
    project = runs.projects[template.model]
    local = runner_file_dag(project / "local_runner.py", tfx_env=template.tfx_env)
    with caplog.at_level(logging.INFO, logger="tfx_dags.airflow.factory"):
        kubeflow = runner_file_dag(project / template.kubeflow_runner, tfx_env=template.tfx_env)
    assert kubeflow.dag_id == local.dag_id == template.pipeline_name

    def edges(dag: Any) -> Mapping[str, list[str]]:
        return {task.task_id: sorted(task.upstream_task_ids) for task in dag.tasks}

    assert edges(kubeflow) == edges(local)
    assert len(edges(local)) >= 8
    # Kubeflow's own settings are named in one line, as ignored (Airflow's logging, once
    # configured, writes it to stdout; before, it reaches caplog).
    logged = caplog.text + capsys.readouterr().out
    [ignored] = [line for line in logged.splitlines() if "settings ignored" in line]
    assert template.kubeflow_setting in ignored, ignored
    # Its root is Kubeflow's bucket, kept as written (never a local folder named gs:).
    assert "gs://" in kubeflow.doc_md
    assert not list(project.glob("gs:*"))
