"""TFX users' own pipelines, unchanged: TFX 1.15.1's example files and a custom-component one.

Vendored unmodified in tests/tfx_examples (see its README): the native Keras taxi pipeline
(``module_file=``, multi-processing Beam), the local penguin pipeline (a ``@component`` in
the file, a Tuner, a user-provided schema) and ``taxi_pipeline_simple.py``, TFX's
``AirflowDagRunner`` file (Estimator, a ``RuntimeParameter``, its own ML Metadata store),
declared in one line. Each runs as a real Airflow 3 DAG run and must push a blessed model.
Then: an unchanged penguin pipeline is a cache hit all the way down; an edited module file
and schema file (one run) retrain and re-import. tests/user_pipelines/custom_components adds a
custom component package (its executor a Beam pipeline) and an int RuntimeParameter set by
the trigger. The deployment's environment holds Airflow's secrets, as a worker's does: the
custom executor and its Beam workers write down their environment, and none is there.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from dev import local_airflow
from tests.support.shared_runs import write_slice
from tfx_dags.common import settings

TESTS = Path(__file__).resolve().parents[1]
EXAMPLES = TESTS / "tfx_examples"
TAXI = EXAMPLES / "chicago_taxi_pipeline"
PENGUIN = EXAMPLES / "penguin"
CUSTOM = TESTS / "user_pipelines" / "custom_components" / "custom_pipeline.py"
IMPORT_MARKER = "tfx_dags test: taxi_utils imported from the user's module_file"
MULTI_PROCESSING = ["--direct_running_mode=multi_processing", "--direct_num_workers=0"]
TRAINING_NODES = ("Transform", "Trainer", "Evaluator")
# The DAGs of tfx_examples' native Keras taxi pipeline (see DAG_FILE's TAXI_VARIANTS).
# Eleven DAG runs in the module fixture, 10-11 minutes of the first test's time here. (The
# same file with Beam in memory runs on TFX 1.16 in test_tfx116_example.py.)
pytestmark = pytest.mark.timeout(1800)
# Rows of the taxi data the two variant DAGs run on (the example's own: 15000).
TAXI_SLICE_ROWS = 2000
TAXI_DAGS = ("taxi_native_keras", "taxi_native_keras_no_server")
# Airflow's secrets, as a worker's environment holds them (its database connection is the
# home's own, real one): no user's code may see them (tfx_dags.airflow.node_env).
AIRFLOW_SECRETS = {
    "AIRFLOW__CORE__FERNET_KEY": base64.urlsafe_b64encode(
        b"tfx-dags-test-fernet-key-32bytes"
    ).decode(),
    "AIRFLOW__API_AUTH__JWT_SECRET": "jwt-secret-of-the-test-deployment",
    "AIRFLOW__CELERY__BROKER_URL": "redis://:broker-secret@127.0.0.1:6379/0",
    "AIRFLOW_CONN_WAREHOUSE": "postgresql://etl:conn-secret@127.0.0.1:5432/warehouse",
    "AIRFLOW_VAR_API_TOKEN": "var-secret-of-the-test-deployment",
}

DAG_FILE = '''
"""Airflow DAGs: TFX's own example pipelines and a user's custom components, unchanged."""
from tfx_dags.common import settings
from tfx_dags.airflow.factory import runner_file_dag, pipeline_dag

# One module file, two DAGs on a slice of the example's data (what they test is how Beam and
# the nodes run, not how much data; chicago_taxi_simple runs on all of it): the file's own
# multi-processing Beam args with the node server, then with the training nodes in fresh
# interpreters.
SERVER_OFF = {{node: {{"env": {{"TFX_DAGS_NODE_SERVER": "off"}}}} for node in {training!r}}}
TAXI_VARIANTS = {{
    "taxi_native_keras": ({multi_processing!r}, {{}}, "{taxi_slice}"),
    "taxi_native_keras_no_server": ({multi_processing!r}, SERVER_OFF, "{taxi_slice}"),
}}
for dag_id, (beam_args, task_overrides, data_root) in TAXI_VARIANTS.items():
    globals()[dag_id] = pipeline_dag(
        dag_id=dag_id,
        pipeline="{taxi}/taxi_pipeline_native_keras.py:_create_pipeline",
        pipeline_kwargs={{
            "data_root": data_root,
            "module_file": "{taxi}/taxi_utils_native_keras.py",
            "metadata_path": str(settings.metadata_sqlite_path()),
            "serving_model_dir": str(settings.serving_dir(dag_id)),
            "beam_pipeline_args": beam_args,
        }},
        task_overrides=task_overrides,
        owner="ml-platform", tags=("tfx",),
    )
penguin_local = pipeline_dag(
    dag_id="penguin_local",
    pipeline="{penguin}/penguin_pipeline_local.py:create_pipeline",
    pipeline_kwargs={{
        "data_root": "{penguin}/data",
        "module_file": "{user}/penguin/penguin_utils_keras.py",
        "accuracy_threshold": 0.6,
        "serving_model_dir": str(settings.serving_dir("penguin_local")),
        "metadata_path": str(settings.metadata_sqlite_path()),
        "user_provided_schema_path": "{user}/penguin/schema.pbtxt",
        "enable_tuning": True,
        "enable_bulk_inferrer": False,
        "enable_example_diff": False,
        "examplegen_input_config": None,
        "examplegen_range_config_date": None,
        "resolver_range_config": None,
        "beam_pipeline_args": {multi_processing!r},
        "enable_transform_input_cache": False,
    }},
    owner="ml-platform", tags=("tfx",),
)
chicago_taxi_simple = runner_file_dag("{taxi}/taxi_pipeline_simple.py", owner="ml-platform")
# The same file's pipeline function, declared by name (not run): its data_root argument feeds
# the RuntimeParameter 'data_root', whose default it becomes.
taxi_simple_function = pipeline_dag(
    dag_id="taxi_simple_function",
    pipeline="{taxi}/taxi_pipeline_simple.py:_create_pipeline",
    pipeline_kwargs={{
        "data_root": "{taxi_slice}",
        "module_file": "{user}/taxi/taxi_utils.py",
        "serving_model_dir": str(settings.serving_dir("taxi_simple_function")),
        "metadata_path": str(settings.metadata_sqlite_path()),
        "beam_pipeline_args": [],
    }},
    owner="ml-platform",
)
# RowCounter counts on Beam workers of their own; it and they write down their environment.
custom_components = pipeline_dag(
    dag_id="custom_components",
    pipeline="{user}/custom_components/custom_pipeline.py:create_pipeline",
    pipeline_kwargs={{"data_root": "{penguin}/data/labelled"}},
    task_overrides={{
        "RowCounter": {{
            "beam_args": {multi_processing!r},
            "env": {{"ROW_TOOLS_ENVIRONMENT_DIR": "{environments}"}},
        }},
    }},
    owner="ml-platform", tags=("tfx",), retries=0,
)
'''


def tree_digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(folder)).encode() + path.read_bytes())
    return digest.hexdigest()


class ExampleRuns:
    """Every run of the module, in order; snapshots of ML Metadata after each."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.user = home / "user"  # $HOME, laid out as TFX's examples expect it
        taxi_home = self.user / "taxi"
        (taxi_home / "data").mkdir(parents=True)
        # The user's copy of the module file says where it was imported from; the vendored
        # one beside the pipeline file (same name, first on the path) does not.
        (taxi_home / "taxi_utils.py").write_text(
            (TAXI / "taxi_utils.py").read_text() + f"\nprint({IMPORT_MARKER!r}, flush=True)\n"
        )
        shutil.copytree(TAXI / "data" / "simple", taxi_home / "data" / "simple")
        write_slice(
            TAXI / "data" / "simple" / "data.csv", self.taxi_slice / "data.csv", TAXI_SLICE_ROWS
        )
        (self.user / "penguin").mkdir()
        shutil.copy(PENGUIN / "penguin_utils_keras.py", self.user / "penguin")
        shutil.copy(PENGUIN / "schema" / "user_provided" / "schema.pbtxt", self.user / "penguin")
        shutil.copytree(CUSTOM.parent, self.user / "custom_components")
        dags = home / "dags"
        dags.mkdir()
        (dags / "tfx_examples.py").write_text(
            DAG_FILE.format(
                taxi=TAXI,
                taxi_slice=self.taxi_slice,
                penguin=PENGUIN,
                user=self.user,
                multi_processing=MULTI_PROCESSING,
                training=TRAINING_NODES,
                environments=self.environments,
            )  # fmt: skip
        )
        self.env = {
            **local_airflow.environment(home, dags_folder=dags),
            "HOME": str(self.user),
            **AIRFLOW_SECRETS,
        }
        local_airflow.init_db(self.env, log=home / "logs" / "db-migrate.log")
        self.exit_codes: dict[str, int] = {}
        self.logs: dict[str, str] = {}
        for dag_id in (*TAXI_DAGS, "penguin_local"):
            self.run(dag_id)
        self.run("chicago_taxi_simple")
        self.run("custom_components", conf={"min_rows": 5})
        self.run("custom_components", conf={"min_rows": "many"}, name="custom-bad-conf")
        self.custom_runs_after_bad_conf = len(self.runs("custom_components"))
        self.run("custom_components", conf={"min_rows": 100_000}, name="custom-too-few")
        self.run("custom_components", conf={"min_rows": 5}, name="custom-unchanged")
        with (self.user / "custom_components" / "row_tools" / "executor.py").open("a") as code:
            code.write("\n# Edited: a new version of the custom executor.\n")
        self.run("custom_components", conf={"min_rows": 5}, name="custom-code-edited")
        # The cache: nothing changed, then the module file and the schema file (one run for
        # both: each retrains everything from Transform on).
        self.run("penguin_local", name="penguin-unchanged")
        with (self.user / "penguin" / "penguin_utils_keras.py").open("a") as module:
            module.write("\n# Edited: a new version of the user module.\n")
        with (self.user / "penguin" / "schema.pbtxt").open("a") as schema:
            schema.write("\n# Edited: a new version of the schema.\n")
        self.run("penguin_local", name="penguin-edited")

    def run(self, dag_id: str, *, conf: Mapping[str, Any] | None = None, name: str = "") -> None:
        name = name or dag_id
        log = self.home / "logs" / f"{name}.log"
        args = ("-c", json.dumps(conf)) if conf is not None else ()
        self.exit_codes[name] = local_airflow.run_dag(self.env, dag_id, log=log, conf=args)
        self.logs[name] = log.read_text()

    def runs(self, dag_id: str, store: Path | None = None) -> list[dict[str, dict[str, Any]]]:
        """The pipeline's runs in ML Metadata, oldest first."""
        env = {**self.env, "TFX_DAGS_METADATA_SQLITE": str(store)} if store else self.env
        runs = json.loads(local_airflow.tfx_query(env, "runs", "--pipeline", dag_id))
        return [runs[run_id] for run_id in sorted(runs, key=lambda run: min_execution(runs[run]))]

    def pushed(self, dag_id: str, store: Path | None = None) -> list[dict[str, Any]]:
        env = {**self.env, "TFX_DAGS_METADATA_SQLITE": str(store)} if store else self.env
        return list(json.loads(local_airflow.tfx_query(env, "pushed-models", "--pipeline", dag_id)))

    @property
    def environments(self) -> Path:
        """Where RowCounter's executor and Beam workers write down their environment."""
        return self.home / "row-tools-environments"

    @property
    def taxi_slice(self) -> Path:
        return self.home / "taxi-slice"

    @property
    def taxi_simple_store(self) -> Path:
        return self.user / "tfx" / "metadata" / "chicago_taxi_simple" / "metadata.db"


def min_execution(run: Mapping[str, Any]) -> int:
    return min(node["execution_id"] for node in run.values())


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> ExampleRuns:
    return ExampleRuns(tmp_path_factory.mktemp("tfx-examples"))


def states(run: Mapping[str, Any]) -> dict[str, str]:
    return {node: details["state"] for node, details in run.items()}


@pytest.mark.parametrize(
    ("dag_id", "store"),
    [
        *((dag_id, None) for dag_id in TAXI_DAGS),
        ("penguin_local", None),
        ("chicago_taxi_simple", "taxi_simple_store"),
    ],
)
def test_the_example_runs_unchanged_and_pushes_a_blessed_model(
    runs: ExampleRuns, dag_id: str, store: str | None
) -> None:
    assert runs.exit_codes[dag_id] == 0, runs.logs[dag_id][-3000:]
    store_path = getattr(runs, store) if store else None
    first = runs.runs(dag_id, store_path)[0]
    assert {state for node, state in states(first).items() if "resolver" not in node} == {
        "COMPLETE"
    }, states(first)
    blessing = Path(first["Evaluator"]["outputs"]["blessing"][0]["uri"])
    assert (blessing / "BLESSED").exists()
    [pushed, *_] = runs.pushed(dag_id, store_path)
    assert pushed["model_id"] == first["Trainer"]["outputs"]["model"][0]["id"]
    assert (Path(pushed["destination"]) / "saved_model.pb").is_file()


@pytest.mark.parametrize("dag_id", TAXI_DAGS)
def test_module_files_run_from_wheels_under_the_pipeline_root(
    runs: ExampleRuns, dag_id: str
) -> None:
    first = runs.runs(dag_id)[0]
    root = runs.home / "pipelines" / dag_id
    for node in ("Transform", "Trainer"):
        module, _, wheel = first[node]["properties"]["module_path"].partition("@")
        assert module == "taxi_utils_native_keras"
        assert Path(wheel).parent == root / "_wheels" and Path(wheel).is_file()
    log = runs.logs[dag_id]
    assert "user_module_0" not in log
    assert "'-m', 'pip', 'install'" not in log  # unpacked, not pip-installed


def test_dags_share_one_module_file_each_with_its_own_wheel(runs: ExampleRuns) -> None:
    versions = {
        dag_id: Path(runs.runs(dag_id)[0]["Trainer"]["properties"]["module_path"]).name
        for dag_id in TAXI_DAGS
    }
    # The same module file, so the same version; a wheel of each under its own root.
    assert len(set(versions.values())) == 1, versions


def transform_log(log: str) -> str:
    start = log.index("--node-id', 'Transform'")
    return log[start : log.index("node Transform finished", start)]


def test_beam_sdk_workers_import_the_module_with_and_without_the_node_server(
    runs: ExampleRuns,
) -> None:
    served = transform_log(runs.logs["taxi_native_keras"])
    assert "(forked by the node server)" in served
    assert re.search(r"tfx_dags: Beam SDK worker \d+ forked by the node server", served)
    fresh = transform_log(runs.logs["taxi_native_keras_no_server"])
    assert "(a new process)" in fresh  # the node, and so its SDK workers, not forked
    assert "tfx_dags: Beam SDK worker" not in fresh
    for log in (served, fresh):
        assert "--direct_running_mode=multi_processing" in log


def test_no_user_code_is_installed_into_either_environment(runs: ExampleRuns) -> None:
    for venv in (settings.PROJECT_ROOT / ".venv-tfx115", settings.PROJECT_ROOT / ".venv-airflow"):
        assert not list(venv.glob("lib/python*/site-packages/tfx_user_code*")), venv
        assert not list(venv.glob("lib/python*/site-packages/taxi_utils*")), venv


def test_an_unchanged_pipeline_is_a_cache_hit_all_the_way_down(runs: ExampleRuns) -> None:
    assert runs.exit_codes["penguin-unchanged"] == 0, runs.logs["penguin-unchanged"][-3000:]
    first, unchanged = runs.runs("penguin_local")[:2]
    cached = states(unchanged)
    for node in (
        "CsvExampleGen", "StatisticsGen", "ImportSchemaGen", "ExampleValidator",
        "Transform", "Tuner", "Trainer",
    ):  # fmt: skip
        assert cached[node] == "CACHED", cached
    assert (
        unchanged["Trainer"]["outputs"]["model"][0]["id"]
        == first["Trainer"]["outputs"]["model"][0]["id"]
    )


def test_an_edited_module_file_retrains(runs: ExampleRuns) -> None:
    assert runs.exit_codes["penguin-edited"] == 0, runs.logs["penguin-edited"][-3000:]
    unchanged, edited = runs.runs("penguin_local")[1:3]
    for node in ("Transform", "Tuner", "Trainer"):
        assert states(edited)[node] == "COMPLETE", states(edited)
        before = unchanged[node]["properties"]["module_path"]
        assert edited[node]["properties"]["module_path"] != before
    # Nothing upstream of the files read anything new.
    for node in ("CsvExampleGen", "StatisticsGen"):
        assert states(edited)[node] == "CACHED", states(edited)


def test_an_edited_schema_file_is_imported_again(runs: ExampleRuns) -> None:
    unchanged, edited = runs.runs("penguin_local")[1:3]
    assert states(unchanged)["ImportSchemaGen"] == "CACHED", states(unchanged)
    assert states(edited)["ImportSchemaGen"] == "COMPLETE", states(edited)
    digests = [
        run["ImportSchemaGen"]["properties"]["tfx_dags_schema_sha256"]
        for run in (unchanged, edited)
    ]
    schema = (runs.user / "penguin" / "schema.pbtxt").read_bytes()
    assert digests[1] == hashlib.sha256(schema).hexdigest() != digests[0]


def test_the_airflow_runner_file_keeps_its_settings_store_and_beam_args(
    runs: ExampleRuns, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow.dag_processing.dagbag import DagBag

    # The file builds its paths from $HOME at import, as TFX's examples do.
    for name in ("HOME", "TFX_DAGS_HOME"):
        monkeypatch.setenv(name, runs.env[name])
    bag = DagBag(dag_folder=str(runs.home / "dags"))
    assert bag.import_errors == {}
    dag = bag.dags["chicago_taxi_simple"]
    assert dag.schedule is None  # schedule_interval: None
    assert dag.start_date == datetime(2019, 1, 1, tzinfo=UTC)
    assert dag.owner == "ml-platform"
    # The RuntimeParameter data_root, with the file's default, is a run parameter.
    assert dag.params["data_root"] == str(runs.user / "taxi" / "data" / "simple")
    log = runs.logs["chicago_taxi_simple"]
    assert f"ML Metadata: SQLite {runs.taxi_simple_store} (the pipeline's" in log
    assert f"Beam args of CsvExampleGen: {MULTI_PROCESSING}" in log
    assert "CsvExampleGen: DirectRunner mode multi_processing: set by the pipeline" in log
    # The module came from the wheel of the user's module file, never from the file of the
    # same name beside the pipeline file.
    assert IMPORT_MARKER in transform_log(log)
    [pushed] = runs.pushed("chicago_taxi_simple", runs.taxi_simple_store)
    assert Path(pushed["destination"]).parent == (
        runs.user / "taxi" / "serving_model" / "chicago_taxi_simple"
    )
    assert runs.runs("chicago_taxi_simple") == []  # nothing in the deployment's store
    # `tfx-dags show` reads the pipeline where it keeps its history: its own store.
    command = [str(Path(sys.executable).parent / "tfx-dags"), "show", "chicago_taxi_simple"]
    done = subprocess.run(
        [*command, "-o", "json"], env=runs.env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    [shown] = json.loads(done.stdout)
    assert [run["nodes"]["Pusher"] for run in shown["runs"]] == ["COMPLETE"]
    assert shown["pushed_model"]["destination"] == pushed["destination"]
    # TFX's own pipeline function: the argument that feeds the RuntimeParameter of its name is
    # that one run parameter, with the argument as its default.
    function_dag = bag.dags["taxi_simple_function"]
    assert dict(function_dag.params) == {"data_root": str(runs.taxi_slice)}


def test_the_tfx_view_reads_the_airflow_runner_file_from_its_own_store_and_root(
    runs: ExampleRuns, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The view finds the pipeline through the compile its DAG names (in its serialized
    version in Airflow's DB) and that compile's manifest: listed from the file's own SQLite
    store (the deployment's has none of it), its runs, models and files read there and
    under the file's own pipeline root."""
    from tfx_dags.ui.dag_pipelines import DagPipelines
    from tfx_dags.ui.source import ViewSource

    monkeypatch.setenv("TFX_DAGS_HOME", runs.env["TFX_DAGS_HOME"])
    source = ViewSource(DagPipelines(database=runs.env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]))
    dag_id = "chicago_taxi_simple"
    root = runs.user / "tfx" / "pipelines" / dag_id  # the file's _pipeline_root
    assert dag_id in source.pipelines() and "penguin_local" in source.pipelines()
    assert source.tfx_line(dag_id) == "1.15"
    assert source.root(dag_id) == root
    summary = source.pipeline(dag_id)
    assert summary["root"] == str(root)
    [run] = summary["runs"]
    assert run["nodes"]["Pusher"]["state"] == "COMPLETE"
    [model] = summary["models"]
    [pushed] = runs.pushed(dag_id, runs.taxi_simple_store)
    assert model["id"] == pushed["model_id"] and model["blessed"]
    assert [push["properties"]["pushed_destination"] for push in model["pushes"]] == [
        pushed["destination"]
    ]
    details = source.run(dag_id, run["run_id"])
    outputs = [
        a for node in details["nodes"] for key in node["outputs"] for a in node["outputs"][key]
    ]
    assert outputs and all(a["readable"] and Path(a["uri"]).is_relative_to(root) for a in outputs)
    evaluator = next(node for node in details["nodes"] if node["node_id"] == "Evaluator")
    [evaluation] = evaluator["outputs"]["evaluation"]
    assert source.evaluation(dag_id, evaluation["id"])["validation"]["ok"]
    assert str(evaluation["id"]) in details["summaries"]


def test_custom_components_and_a_runtime_parameter_from_the_trigger(runs: ExampleRuns) -> None:
    assert runs.exit_codes["custom_components"] == 0, runs.logs["custom_components"][-3000:]
    first = runs.runs("custom_components")[0]
    assert set(states(first).values()) == {"COMPLETE"}
    assert first["CheckRowCount"]["properties"]["min_rows"] == 5
    verdict = Path(first["CheckRowCount"]["outputs"]["verdict"][0]["uri"])
    assert verdict.read_text().endswith("examples >= min_rows=5")
    counts = Path(first["RowCounter"]["outputs"]["row_counts"][0]["uri"]) / "counts.json"
    assert sum(json.loads(counts.read_text()).values()) > 300


def test_a_bad_runtime_parameter_is_refused_before_any_work(runs: ExampleRuns) -> None:
    assert runs.exit_codes["custom-bad-conf"] != 0
    assert (
        "Invalid input for param min_rows: 'many' is not of type 'integer'"
        in runs.logs["custom-bad-conf"]
    )
    assert runs.custom_runs_after_bad_conf == 1  # only the first run reached ML Metadata


def test_a_failing_user_component_names_the_users_file_and_line(runs: ExampleRuns) -> None:
    assert runs.exit_codes["custom-too-few"] != 0
    log = runs.logs["custom-too-few"]
    assert "fewer than min_rows=100000" in log
    assert f"(at {runs.user / 'custom_components' / 'custom_pipeline.py'}:" in log


def test_an_edited_custom_executor_reruns_its_nodes_and_no_other(runs: ExampleRuns) -> None:
    for name in ("custom-unchanged", "custom-code-edited"):
        assert runs.exit_codes[name] == 0, runs.logs[name][-3000:]
    first, _too_few, unchanged, edited = runs.runs("custom_components")
    assert set(states(unchanged).values()) == {"CACHED"}, states(unchanged)
    assert states(edited) == {
        "CsvExampleGen": "CACHED",
        "RowCounter": "COMPLETE",
        "CheckRowCount": "COMPLETE",
    }
    for node in ("RowCounter", "CheckRowCount"):
        digests = [run[node]["properties"]["tfx_dags_code_sha256"] for run in (first, edited)]
        assert digests[0] != digests[1]
    assert "tfx_dags_code_sha256" not in first["CsvExampleGen"]["properties"]


def test_users_code_and_its_beam_workers_see_none_of_airflows_secrets(runs: ExampleRuns) -> None:
    assert runs.exit_codes["custom_components"] == 0, runs.logs["custom_components"][-3000:]
    executor = json.loads((runs.environments / "executor.json").read_text())
    workers = [json.loads(path.read_text()) for path in runs.environments.glob("worker-*.json")]
    # Beam SDK workers (their runner's control endpoint is theirs), not the executor's process.
    assert workers, "no Beam worker wrote down its environment"
    for worker in workers:
        assert worker["pid"] != executor["pid"]
        assert "CONTROL_API_SERVICE_DESCRIPTOR" in worker["environ"]
    assert "forked by the node server" in runs.logs["custom_components"]
    secrets = {
        **AIRFLOW_SECRETS,
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": runs.env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"],
    }
    for recorded in (executor, *workers):
        environ = recorded["environ"]
        assert [name for name in environ if "AIRFLOW" in name.upper()] == []
        values = "\n".join(environ.values())
        assert [name for name, value in secrets.items() if value in values] == []
        # What TFX and the user's code need is there, and what the DAG declared for the node.
        assert environ["HOME"] == str(runs.user)
        assert environ["PATH"] == runs.env["PATH"]
        assert environ["TFX_DAGS_HOME"] == str(runs.home)
        assert environ["ROW_TOOLS_ENVIRONMENT_DIR"] == str(runs.environments)
