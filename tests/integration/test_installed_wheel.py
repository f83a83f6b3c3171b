"""tfx-dags installed from its wheel, as a platform team installs it (issue #22): the wheel
holds tfx_dags and its data, not the checkout's example code, and declares each side's
dependencies as extras; installed non-editable into an Airflow environment and a TFX
environment, it runs a team's DAG folder that lives outside the checkout, with its own
pipeline package beside its DAG file, through a real ``airflow dags test``.

The two environments are fresh virtualenvs whose dependencies come from this checkout's
(a ``.pth`` file naming their site-packages, whose own ``.pth`` files, the editable install
among them, Python then does not read): only the wheel's tfx_dags is importable there.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator, Mapping
from contextlib import closing
from dataclasses import dataclass
from email.parser import Parser
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement

from dev import local_airflow
from tfx_dags.common import settings
from tfx_dags.node_server import client as node_client

pytestmark = pytest.mark.timeout(400)

ROOT = settings.PROJECT_ROOT
DAG_ID = "team_stats"
# What the wheel is built from: the package and the files around it that could leak in (the
# checkout's development tooling, dev/, among them).
SOURCES = (
    "setup.cfg",
    "pyproject.toml",
    "README.md",
    "tfx_dags",
    "modules",
    "tests",
    "dags",
    "dev",
)
SNAPSHOT_SKIPPED = {".git", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"}

# The team's DAG folder: a thin DAG file, its pipeline package beside it.
DAG_FILE = f'''"""Airflow DAG: the team's penguin statistics and schema."""

from pathlib import Path

from tfx_dags import pipeline_dag, settings

dag = pipeline_dag(
    dag_id="{DAG_ID}",
    pipeline="team_stats_code.pipeline:create_pipeline",
    pipeline_kwargs={{
        "data_root": str(Path(__file__).resolve().parents[1] / "data" / "penguin"),
        "record_dir": str(settings.home() / "code-records"),
    }},
    owner="team",
    tags=("tfx",),
    retries=0,
)
'''
PIPELINE = '''"""The team's pipeline: CSV examples, their statistics and schema."""

from pathlib import Path


def create_pipeline(*, pipeline_name, pipeline_root, data_root, record_dir):
    from tfx import v1 as tfx

    from team_stats_code.record import RecordCode, record

    record(Path(record_dir) / "compile.json")
    examples = tfx.components.CsvExampleGen(input_base=data_root)
    statistics = tfx.components.StatisticsGen(examples=examples.outputs["examples"])
    schema = tfx.components.SchemaGen(statistics=statistics.outputs["statistics"])
    code = RecordCode(schema=schema.outputs["schema"], record_dir=record_dir)
    return tfx.dsl.Pipeline(
        pipeline_name=pipeline_name,
        pipeline_root=pipeline_root,
        components=[examples, statistics, schema, code],
    )
'''
# A step of the team's own (imported by the node from the DAG folder) that records which
# tfx_dags it runs with, as the compile does.
RECORD = '''"""Which tfx_dags and interpreter ran this code."""

import json
import sys
from pathlib import Path

from tfx import v1 as tfx


def record(path):
    import tfx_dags
    from tfx_dags.common import settings

    path.parent.mkdir(parents=True, exist_ok=True)
    found = {"tfx_dags": tfx_dags.__file__, "python": sys.executable}
    path.write_text(json.dumps({**found, "checkout": str(settings.checkout())}))


@tfx.dsl.components.component
def RecordCode(
    schema: tfx.dsl.components.InputArtifact[tfx.types.standard_artifacts.Schema],
    record_dir: tfx.dsl.components.Parameter[str],
) -> None:
    record(Path(record_dir) / "node.json")
'''


@dataclass
class Installed:
    wheel: Path
    airflow_venv: Path
    tfx_venv: Path
    airflow_home: Path
    run_exit_code: int
    run_log: Path
    written_into_checkout: list[str]

    @property
    def home(self) -> Path:
        """An installed tfx_dags' default home."""
        return self.airflow_home / "tfx-dags"


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Every file of the checkout (git-ignored ones too, the environments and caches of
    compiled bytecode aside) with its modification time and size."""
    files = {}
    for folder, subfolders, names in os.walk(root):
        subfolders[:] = [
            name
            for name in subfolders
            if name not in SNAPSHOT_SKIPPED
            and not (folder == str(root) and name.startswith(".venv"))
        ]
        for name in names:
            path = os.path.join(folder, name)
            stat = os.lstat(path)
            files[os.path.relpath(path, root)] = (stat.st_mtime_ns, stat.st_size)
    return files


def run(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(command, capture_output=True, text=True, **kwargs)
    assert result.returncode == 0, f"{command}: {result.stdout[-2000:]}{result.stderr[-2000:]}"
    return result


def build_wheel(tfx_python: Path, folder: Path) -> Path:
    """The wheel, built offline from a copy of the checkout (a build writes build/ and
    *.egg-info beside its sources) with the TFX environment's setuptools and wheel."""
    source, dist = folder / "source", folder / "dist"
    source.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "tfx_examples")
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=ignore)
        else:
            shutil.copy2(ROOT / name, source / name)
    command = [str(tfx_python), "-m", "pip", "wheel", "--no-deps", "--no-build-isolation"]
    run([*command, "--no-index", "--quiet", "--wheel-dir", str(dist), str(source)])
    [wheel] = dist.glob("tfx_dags-*.whl")
    return wheel


def install(wheel: Path, dependencies_from: Path, venv: Path) -> None:
    """A virtualenv holding the wheel, non-editable, and nothing else of its own: its
    dependencies are those of the environment ``dependencies_from`` runs in."""
    code = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    site = run([str(dependencies_from), "-c", code]).stdout.strip()
    run([str(dependencies_from), "-m", "venv", "--without-pip", str(venv)])
    [own_site] = (venv / "lib").glob("python3*/site-packages")
    (own_site / "dependencies.pth").write_text(f"{site}\n")
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-index"]
    # --ignore-installed: the checkout's environment has tfx-dags installed (editable).
    run([*pip, "--no-deps", "--ignore-installed", str(wheel)], env=clean_environment({}))


def clean_environment(extra: Mapping[str, str]) -> dict[str, str]:
    """This process's environment without its Airflow, tfx_dags and Python settings (the
    checkout on PYTHONPATH among them)."""
    kept = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("AIRFLOW", "TFX_DAGS_", "PYTHON", "VIRTUAL_ENV"))
    }
    return {**kept, **extra}


def team_folder(folder: Path) -> Path:
    dags = folder / "dags"
    package = dags / "team_stats_code"
    package.mkdir(parents=True)
    (dags / f"{DAG_ID}.py").write_text(DAG_FILE)
    (dags / ".airflowignore").write_text("team_stats_code/\n")
    (package / "__init__.py").write_text("")
    (package / "pipeline.py").write_text(PIPELINE)
    (package / "record.py").write_text(RECORD)
    data = folder / "data" / "penguin"
    data.mkdir(parents=True)
    shutil.copy2(ROOT / "data" / "penguin" / "penguins.csv", data / "penguins.csv")
    return dags


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory, tfx_python: Path) -> Iterator[Installed]:
    folder = tmp_path_factory.mktemp("installed-wheel")
    before = snapshot(ROOT)
    wheel = build_wheel(tfx_python, folder)
    airflow_venv, tfx_venv = folder / "airflow-venv", folder / "tfx-venv"
    install(wheel, Path(sys.executable), airflow_venv)
    install(wheel, tfx_python, tfx_venv)
    team = folder / "team"
    airflow_home = team / "airflow"
    # The node server's socket path must stay short.
    servers = Path(tempfile.mkdtemp(prefix="tfx-dags-srv-"))
    env = clean_environment(
        {
            "AIRFLOW_HOME": str(airflow_home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(team_folder(team)),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(airflow_home / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{airflow_home / 'airflow.db'}",
            "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "300",
            "TFX_DAGS_TFX_ENVS": json.dumps({"team_tfx": str(tfx_venv / "bin" / "python")}),
            "TFX_DAGS_NODE_SERVER_DIR": str(servers),
            "TFX_DAGS_BEAM_DIRECT_MODE": "in_memory",
        }
    )
    # Airflow's database: migrated with `airflow db migrate` (a copy of one migrated once).
    templates = {"TFX_DAGS_DEV_DB_TEMPLATES": os.environ.get("TFX_DAGS_DEV_DB_TEMPLATES", "")}
    local_airflow.init_db({**env, **templates}, log=team / "logs" / "init-db.log")
    log = team / "logs" / "dags-test.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    try:
        with log.open("w") as handle:
            exit_code = subprocess.run(
                [str(airflow_venv / "bin" / "python"), "-m", "airflow", "dags", "test", DAG_ID],
                env=env,
                cwd=team,
                stdout=handle,
                stderr=subprocess.STDOUT,
                timeout=300,
            ).returncode
    finally:
        node_client.stop_servers(servers)
    after = snapshot(ROOT)
    written = sorted(
        path for path in before.keys() | after.keys() if before.get(path) != after.get(path)
    )
    yield Installed(wheel, airflow_venv, tfx_venv, airflow_home, exit_code, log, written)
    shutil.rmtree(servers, ignore_errors=True)


def wheel_metadata(wheel: Path) -> tuple[list[str], Mapping[str, list[str]]]:
    """The wheel's file names, and its metadata's fields."""
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        [metadata] = [name for name in names if name.endswith(".dist-info/METADATA")]
        message = Parser().parsestr(archive.read(metadata).decode())
    return names, {key: message.get_all(key) or [] for key in set(message.keys())}


def test_the_wheel_holds_the_package_and_not_the_checkouts_code(installed: Installed) -> None:
    names, _ = wheel_metadata(installed.wheel)
    tops = {name.split("/", 1)[0] for name in names}
    # Neither the checkout's code (modules/, dev/, tests/) nor a dev/ of the package's own.
    assert tops == {"tfx_dags", "tfx_dags-0.1.0.dist-info"}, tops
    assert not any(name.startswith("tfx_dags/dev/") for name in names)
    assert {
        "tfx_dags/ui/templates/base.html",
        "tfx_dags/airflow/default_pools.json",
        "tfx_dags/runner/node.py",
    } <= set(names)
    with zipfile.ZipFile(installed.wheel) as archive:
        scripts = archive.read("tfx_dags-0.1.0.dist-info/entry_points.txt").decode()
    assert "tfx-dags = tfx_dags.cli.main:main" in scripts
    assert "tfx-dags-sdk-boot = tfx_dags.worker_pool.boot:main" in scripts


def test_each_side_declares_its_dependencies_as_an_extra(installed: Installed) -> None:
    _, metadata = wheel_metadata(installed.wheel)
    assert set(metadata["Provides-Extra"]) == {"airflow", "openlineage", "tfx"}
    requirements = [Requirement(line) for line in metadata["Requires-Dist"]]
    assert all(requirement.marker is not None for requirement in requirements), "a core one"

    def extra(name: str) -> dict[str, str]:
        return {
            r.name: str(r.specifier)
            for r in requirements
            if r.marker is not None and r.marker.evaluate({"extra": name})
        }

    airflow, tfx = extra("airflow"), extra("tfx")
    assert airflow["apache-airflow"] == "<4,>=3.1"
    assert tfx["tfx"] == "<1.17,>=1.15"
    assert not any(name.startswith(("tfx", "tensorflow", "apache-beam")) for name in airflow)
    assert not any(name.startswith("apache-airflow") for name in tfx)


def test_only_the_wheels_tfx_dags_is_importable_in_the_new_environments(
    installed: Installed,
) -> None:
    code = "import importlib.util as u, tfx_dags; print(tfx_dags.__file__, u.find_spec('modules'))"
    for venv in (installed.airflow_venv, installed.tfx_venv):
        result = run(
            [str(venv / "bin" / "python"), "-c", code], env=clean_environment({}), cwd=venv
        )
        location, modules = result.stdout.split()
        assert Path(location).is_relative_to(venv / "lib"), location
        assert modules == "None"
        scripts = [venv / "bin" / name for name in ("tfx-dags", "tfx-dags-sdk-boot")]
        assert all(script.exists() for script in scripts)


def test_the_teams_dag_runs_with_the_installed_code(installed: Installed) -> None:
    assert installed.run_exit_code == 0, installed.run_log.read_text()[-4000:]
    with closing(sqlite3.connect(installed.airflow_home / "airflow.db")) as database:
        query = "SELECT state FROM dag_run WHERE dag_id = ?"
        runs = database.execute(query, (DAG_ID,)).fetchall()
        query = "SELECT task_id, state FROM task_instance WHERE dag_id = ?"
        states = dict(database.execute(query, (DAG_ID,)).fetchall())
    assert runs == [("success",)]
    assert states == {
        "CsvExampleGen": "success",
        "StatisticsGen": "success",
        "SchemaGen": "success",
        "RecordCode": "success",
    }
    # The installed defaults of the Airflow side (a checkout's would be <checkout>/var):
    # everything under Airflow's home.
    assert (installed.home / "pipelines" / DAG_ID / "SchemaGen").is_dir()
    assert (installed.home / "compiled" / DAG_ID).is_dir()
    # The compile and the team's own step ran in the TFX environment, with its tfx_dags.
    python = installed.tfx_venv / "bin" / "python"
    for step in ("compile", "node"):
        record = json.loads((installed.home / "code-records" / f"{step}.json").read_text())
        assert Path(record["tfx_dags"]).is_relative_to(installed.tfx_venv / "lib"), record
        assert record["python"] == str(python) and record["checkout"] == "None"


def test_nothing_was_written_into_the_checkout(installed: Installed) -> None:
    assert installed.written_into_checkout == []
