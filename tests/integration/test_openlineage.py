"""Every TFX task reports its ML Metadata artifacts through Airflow's OpenLineage provider.

Real runs (``airflow dags test``, SQLite Airflow, real TFX and ML Metadata) with the
provider's file transport: a penguin run that pushes a model, and a taxi run whose
ExampleValidator fails on drifted data. The events are checked against the OpenLineage JSON
schema (vendored, offline) and against the ML Metadata graph of the same runs.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from tfx_dags.common import settings
from tfx_dags.dev import local_airflow

SPEC = Path(__file__).resolve().parents[1] / "openlineage_spec"
OUR_FACET = settings.PROJECT_ROOT / "docs" / "openlineage" / "TfxDagsArtifactDatasetFacet.json"
PENGUIN_DATA = settings.PROJECT_ROOT / "data" / "penguin"
TAXI_CSV = settings.PROJECT_ROOT / "data" / "taxi" / "taxi.csv"
NAMESPACE = "tfx-dags-test"
DAGS = """
# Airflow DAGs built by the tfx_dags factory.
from tfx_dags import pipeline_dag

lineage_penguin = pipeline_dag(
    dag_id="lineage_penguin",
    pipeline="modules.penguin.pipeline:create_pipeline",
    pipeline_kwargs={{
        "data_root": {penguin!r},
        "serving_model_dir": {serving!r} + "/lineage_penguin",
        "trainer_module": "modules.penguin.keras_raw",
        "use_transform": False,
        "train_steps": 200,
    }},
    owner="ml-platform",
)
lineage_drift = pipeline_dag(
    dag_id="lineage_drift",
    pipeline="modules.taxi.pipeline:create_pipeline",
    pipeline_kwargs={{"data_root": {drifted!r}, "serving_model_dir": {serving!r} + "/drift"}},
    owner="ml-platform",
)
"""


def write_drifted_taxi(folder: Path) -> None:
    """1000 taxi rows, one in ten with an hour of 27: out of the curated schema's domain."""
    folder.mkdir(parents=True)
    with TAXI_CSV.open() as source:
        rows = [row for _, row in zip(range(1000), csv.DictReader(source), strict=False)]
    for n, row in enumerate(rows):
        if n % 10 == 0:
            row["trip_start_hour"] = "27"
    with (folder / "taxi.csv").open("w", newline="") as target:
        writer = csv.DictWriter(target, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


class LineageRuns:
    def __init__(self, home: Path) -> None:
        dags = home / "dags"
        dags.mkdir(parents=True)
        write_drifted_taxi(home / "drifted")
        (dags / "lineage_dags.py").write_text(
            DAGS.format(
                penguin=str(PENGUIN_DATA),
                drifted=str(home / "drifted"),
                serving=str(home / "serving"),
            )
        )
        self.events_file = home / "openlineage" / "events.jsonl"
        self.events_file.parent.mkdir()
        self.env = {
            **local_airflow.environment(home, dags_folder=dags),
            "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(
                {"type": "file", "log_file_path": str(self.events_file), "append": True}
            ),
            "AIRFLOW__OPENLINEAGE__NAMESPACE": NAMESPACE,
            "AIRFLOW__OPENLINEAGE__EXECUTE_IN_THREAD": "True",
        }
        local_airflow.init_db(self.env, log=home / "logs" / "db-migrate.log")
        self.exit_codes = {
            dag_id: local_airflow.run_dag(self.env, dag_id, log=home / "logs" / f"{dag_id}.log")
            for dag_id in ("lineage_penguin", "lineage_drift")
        }
        self.events = [json.loads(line) for line in self.events_file.read_text().splitlines()]
        self.metadata = {
            dag_id: json.loads(local_airflow.tfx_query(self.env, "runs", "--pipeline", dag_id))
            for dag_id in ("lineage_penguin", "lineage_drift")
        }

    def task_events(self, dag_id: str, task_id: str) -> dict[str, dict[str, Any]]:
        """START / COMPLETE / FAIL event of one task (the last of each kind)."""
        found = {}
        for event in self.events:
            if event["job"]["name"] == f"{dag_id}.{task_id}":
                found[event["eventType"]] = event
        return found

    def run_metadata(self, dag_id: str) -> dict[str, Any]:
        [run] = self.metadata[dag_id].values()
        return dict(run)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> LineageRuns:
    return LineageRuns(tmp_path_factory.mktemp("openlineage"))


def registry() -> Registry:
    documents = [
        json.loads(path.read_text())
        for path in [
            SPEC / "OpenLineage.json",
            *sorted((SPEC / "facets").glob("*.json")),
            OUR_FACET,
        ]
    ]
    return Registry().with_resources(
        [(document["$id"], Resource.from_contents(document)) for document in documents]
    )


def test_every_event_follows_the_openlineage_schema(runs: LineageRuns) -> None:
    assert runs.events, "no OpenLineage event was written"
    schemas = registry()
    core = json.loads((SPEC / "OpenLineage.json").read_text())
    validator = Draft202012Validator(core, registry=schemas)
    checked_facets = defaultdict(int)
    for event in runs.events:
        validator.validate(event)
        for dataset in [*event.get("inputs", []), *event.get("outputs", [])]:
            for key, facet in dataset.get("facets", {}).items():
                Draft202012Validator({"$ref": facet["_schemaURL"]}, registry=schemas).validate(
                    facet
                )
                checked_facets[key] += 1
    assert {"tfxDags_artifact", "symlinks", "version", "lifecycleStateChange"} <= set(
        checked_facets
    )


def test_each_task_reports_start_and_complete_with_its_ml_metadata_artifacts(
    runs: LineageRuns,
) -> None:
    assert runs.exit_codes["lineage_penguin"] == 0
    metadata = runs.run_metadata("lineage_penguin")
    for node_id, node in metadata.items():
        events = runs.task_events("lineage_penguin", node_id)
        assert {"START", "COMPLETE"} <= set(events), node_id
        complete = events["COMPLETE"]
        assert complete["job"]["namespace"] == NAMESPACE
        for side in ("inputs", "outputs"):
            reported = {
                (
                    d["facets"]["tfxDags_artifact"]["key"],
                    d["facets"]["tfxDags_artifact"]["mlmdArtifactId"],
                    d["name"],
                )
                for d in complete[side]
                if d["facets"]["tfxDags_artifact"]["role"] == "artifact"
            }
            recorded = {
                (key, artifact["id"], artifact["uri"])
                for key, artifacts in node[side].items()
                for artifact in artifacts
            }
            assert reported == recorded, (node_id, side)


def test_the_chain_reads_from_raw_csv_to_the_pushed_model(runs: LineageRuns) -> None:
    metadata = runs.run_metadata("lineage_penguin")

    def outputs(task_id: str) -> dict[str, dict[str, Any]]:
        complete = runs.task_events("lineage_penguin", task_id)["COMPLETE"]
        return {d["name"]: d for d in complete["outputs"]}

    def inputs(task_id: str) -> dict[str, dict[str, Any]]:
        complete = runs.task_events("lineage_penguin", task_id)["COMPLETE"]
        return {d["name"]: d for d in complete["inputs"]}

    # Raw CSV -> Examples
    raw = inputs("CsvExampleGen")[str(PENGUIN_DATA)]
    assert raw["namespace"] == "file"
    assert raw["facets"]["tfxDags_artifact"]["role"] == "raw data"
    examples = metadata["CsvExampleGen"]["outputs"]["examples"][0]["uri"]
    assert (
        outputs("CsvExampleGen")[examples]["facets"]["tfxDags_artifact"]["artifactType"]
        == "Examples"
    )
    # Examples -> Model
    assert examples in inputs("Trainer")
    model = metadata["Trainer"]["outputs"]["model"][0]["uri"]
    assert outputs("Trainer")[model]["facets"]["tfxDags_artifact"]["artifactType"] == "Model"
    # Model -> blessing -> pushed model, and where it was pushed
    assert model in inputs("Evaluator") and model in inputs("Pusher")
    pushed = outputs("Pusher")
    destinations = [
        d for d in pushed.values() if d["facets"]["tfxDags_artifact"]["role"] == "pushed model"
    ]
    [destination] = destinations
    assert Path(destination["name"], "saved_model.pb").is_file()
    assert destination["facets"]["tfxDags_artifact"]["properties"]["pushed"] == 1


def test_start_events_name_the_upstream_artifacts_before_tfx_resolves_them(
    runs: LineageRuns,
) -> None:
    metadata = runs.run_metadata("lineage_penguin")
    start = runs.task_events("lineage_penguin", "Trainer")["START"]
    named = {d["name"] for d in start["inputs"]}
    assert metadata["CsvExampleGen"]["outputs"]["examples"][0]["uri"] in named
    assert metadata["SchemaGen"]["outputs"]["schema"][0]["uri"] in named
    assert start["outputs"] == []


def test_a_failed_task_reports_what_its_execution_read_and_wrote(runs: LineageRuns) -> None:
    assert runs.exit_codes["lineage_drift"] != 0
    metadata = runs.run_metadata("lineage_drift")
    failed = runs.task_events("lineage_drift", "ExampleValidator")
    assert "FAIL" in failed and "COMPLETE" not in failed
    event = failed["FAIL"]
    assert "trip_start_hour" in json.dumps(event["run"]["facets"])
    reported_inputs = {d["name"] for d in event["inputs"]}
    statistics = metadata["StatisticsGen"]["outputs"]["statistics"][0]["uri"]
    schema = metadata["ImportSchemaGen"]["outputs"]["schema"][0]["uri"]
    assert {statistics, schema} <= reported_inputs
    anomalies = metadata["ExampleValidator"]["outputs"]["anomalies"][0]["uri"]
    assert anomalies in {d["name"] for d in event["outputs"]}
    # The Trainer never started.
    assert "START" not in runs.task_events("lineage_drift", "Trainer")
