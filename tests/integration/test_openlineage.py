"""Every TFX task reports its ML Metadata artifacts through Airflow's OpenLineage provider.

Real runs (``airflow dags test``, SQLite Airflow, real TFX and ML Metadata) with the
provider's file transport, shared with the modules that assert on their results
(shared_runs.py): every trainer style's run, penguin_keras_raw's pushing a model, and the
drifted taxi runs, one of whose ExampleValidator fails on out-of-domain hours. The events are
checked against the OpenLineage JSON schema (vendored, offline) and against the ML Metadata
graph of the same runs.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from tests.support.shared_runs import LINEAGE_NAMESPACE, DriftRuns, StyleRuns
from tfx_dags.common import settings

SPEC = Path(__file__).resolve().parents[1] / "openlineage_spec"
OUR_FACET = settings.PROJECT_ROOT / "docs" / "openlineage" / "TfxDagsArtifactDatasetFacet.json"
PENGUIN_DATA = settings.PROJECT_ROOT / "data" / "penguin"
# The runs whose events are checked: penguin_keras_raw of StyleRuns (it pushes a model) and
# the out-of-domain run of DriftRuns (its ExampleValidator fails); see shared_runs.py.
PENGUIN, DRIFT = "penguin_keras_raw", "drift_taxi"
pytestmark = pytest.mark.xdist_group("sqlite_runs")


class LineageRuns:
    def __init__(self, styles: StyleRuns, drift: DriftRuns) -> None:
        self.exit_codes = {
            PENGUIN: styles.exit_codes[PENGUIN],
            DRIFT: drift.exit_codes["out_of_domain"],
        }
        # The penguin run's events, before the one-step candidate ran under the same name.
        self.events_of = {
            PENGUIN: [e for e in styles.first_events if e["job"]["name"].startswith(PENGUIN)],
            DRIFT: drift.events["out_of_domain"],
        }
        self.events = [*styles.first_events, *(e for es in drift.events.values() for e in es)]
        [penguin_run] = styles.first_runs[PENGUIN].values()
        self.metadata = {
            PENGUIN: penguin_run,
            DRIFT: drift.metadata[drift.run_ids["out_of_domain"]],
        }

    def task_events(self, dag_id: str, task_id: str) -> dict[str, dict[str, Any]]:
        """START / COMPLETE / FAIL event of one task (the last of each kind)."""
        found = {}
        for event in self.events_of[dag_id]:
            if event["job"]["name"] == f"{dag_id}.{task_id}":
                found[event["eventType"]] = event
        return found

    def run_metadata(self, dag_id: str) -> dict[str, Any]:
        return dict(self.metadata[dag_id])


@pytest.fixture(scope="module")
def runs(style_runs: StyleRuns, drift_runs: DriftRuns) -> LineageRuns:
    return LineageRuns(style_runs, drift_runs)


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
    assert runs.exit_codes[PENGUIN] == 0
    metadata = runs.run_metadata(PENGUIN)
    for node_id, node in metadata.items():
        events = runs.task_events(PENGUIN, node_id)
        assert {"START", "COMPLETE"} <= set(events), node_id
        complete = events["COMPLETE"]
        assert complete["job"]["namespace"] == LINEAGE_NAMESPACE
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
    metadata = runs.run_metadata(PENGUIN)

    def outputs(task_id: str) -> dict[str, dict[str, Any]]:
        complete = runs.task_events(PENGUIN, task_id)["COMPLETE"]
        return {d["name"]: d for d in complete["outputs"]}

    def inputs(task_id: str) -> dict[str, dict[str, Any]]:
        complete = runs.task_events(PENGUIN, task_id)["COMPLETE"]
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
    metadata = runs.run_metadata(PENGUIN)
    start = runs.task_events(PENGUIN, "Trainer")["START"]
    named = {d["name"] for d in start["inputs"]}
    assert metadata["CsvExampleGen"]["outputs"]["examples"][0]["uri"] in named
    assert metadata["SchemaGen"]["outputs"]["schema"][0]["uri"] in named
    assert start["outputs"] == []


def test_a_failed_task_reports_what_its_execution_read_and_wrote(runs: LineageRuns) -> None:
    assert runs.exit_codes[DRIFT] != 0
    metadata = runs.run_metadata(DRIFT)
    failed = runs.task_events(DRIFT, "ExampleValidator")
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
    assert "START" not in runs.task_events(DRIFT, "Trainer")
