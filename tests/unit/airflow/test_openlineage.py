"""A node's ML Metadata artifacts as OpenLineage datasets (no Airflow run, no database)."""

from __future__ import annotations

import json

import pytest
from openlineage.client.serde import Serde

from tfx_dags.airflow.openlineage import FACET_KEY, dataset_name, operator_lineage


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("/srv/pipelines/p/Trainer/model/7", ("file", "/srv/pipelines/p/Trainer/model/7")),
        ("file:///srv/data/penguin", ("file", "/srv/data/penguin")),
        ("gs://bucket/pipelines/p/Trainer/model/7", ("gs://bucket", "pipelines/p/Trainer/model/7")),
        ("s3://bucket/key", ("s3://bucket", "key")),
        ("hdfs://namenode:8020/data/x", ("hdfs://namenode:8020", "data/x")),
    ],
)
def test_datasets_are_named_by_openlineage_rules(uri: str, expected: tuple[str, str]) -> None:
    assert dataset_name(uri) == expected


def artifact(kind: str, number: int, **properties: object) -> dict[str, object]:
    return {
        "id": number,
        "uri": f"/p/{kind}/{number}",
        "type": kind,
        "custom_properties": properties,
    }


def test_a_pushers_lineage_names_its_artifacts_and_where_it_pushed() -> None:
    lineage = operator_lineage(
        pipeline="penguin",
        node_id="Pusher",
        inputs={"model": [artifact("Model", 3)], "model_blessing": [artifact("ModelBlessing", 4)]},
        store="mysql://db:3306/mlmd",
        outputs={
            "pushed_model": [
                artifact("PushedModel", 5, pushed=1, pushed_destination="/serving/penguin/17")
            ]
        },
    )
    inputs = [json.loads(Serde.to_json(dataset)) for dataset in lineage.inputs]
    outputs = [json.loads(Serde.to_json(dataset)) for dataset in lineage.outputs]
    assert [(d["namespace"], d["name"]) for d in inputs] == [
        ("file", "/p/Model/3"),
        ("file", "/p/ModelBlessing/4"),
    ]
    facet = inputs[0]["facets"][FACET_KEY]
    assert facet["artifactType"] == "Model" and facet["mlmdArtifactId"] == 3
    assert (facet["pipeline"], facet["node"], facet["key"]) == ("penguin", "Pusher", "model")
    assert facet["_schemaURL"].endswith(
        "TfxDagsArtifactDatasetFacet.json#/$defs/TfxDagsArtifactDatasetFacet"
    )
    assert inputs[0]["facets"]["symlinks"]["identifiers"] == [
        {"namespace": "mysql://db:3306/mlmd", "name": "Model/3", "type": "ARTIFACT"}
    ]
    assert [d["name"] for d in outputs] == ["/p/PushedModel/5", "/serving/penguin/17"]
    assert outputs[1]["facets"][FACET_KEY]["role"] == "pushed model"
    assert outputs[1]["facets"]["lifecycleStateChange"]["lifecycleStateChange"] == "CREATE"


def test_a_model_not_pushed_has_no_pushed_folder_and_raw_data_is_an_input() -> None:
    lineage = operator_lineage(
        pipeline="p",
        node_id="Pusher",
        inputs={},
        outputs={"pushed_model": [artifact("PushedModel", 5, pushed=0)]},
        external_inputs=["/data/penguin"],
    )
    assert [d.name for d in lineage.outputs] == ["/p/PushedModel/5"]
    [raw] = lineage.inputs
    assert (raw.namespace, raw.name) == ("file", "/data/penguin")
    assert raw.facets[FACET_KEY].role == "raw data"


class UpstreamResults:
    """A task instance whose upstream tasks returned these node results (their XComs)."""

    def __init__(self, results: dict[str, object]) -> None:
        self.results = results
        self.asked: list[object] = []

    def xcom_pull(self, *, task_ids: list[str], key: str) -> list[object]:
        self.asked.append((task_ids, key))
        return [self.results.get(task_id) for task_id in task_ids]


def test_start_inputs_come_from_the_upstream_tasks_return_values() -> None:
    from tfx_dags.airflow.operators import expected_inputs

    ti = UpstreamResults(
        {
            "Gen": {"outputs": {"examples": [artifact("Examples", 1)]}, "store": "sqlite:///m"},
            "Schema": {"outputs": {"schema": [artifact("Schema", 2)]}},
            "Resolver": None,  # skipped, or not run yet: nothing to name
        }
    )
    channels = [
        ("examples", "Gen", "examples"),
        ("schema", "Schema", "schema"),
        ("baseline_model", "Resolver", "model"),
    ]
    inputs, store = expected_inputs(channels, ti)
    assert store == "sqlite:///m"
    assert inputs == {"examples": [artifact("Examples", 1)], "schema": [artifact("Schema", 2)]}
    assert ti.asked == [(["Gen", "Resolver", "Schema"], "return_value")]


def test_lineage_is_off_until_a_transport_is_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    from tfx_dags.airflow.operators import lineage_is_on

    for name in ("AIRFLOW__OPENLINEAGE__TRANSPORT", "OPENLINEAGE_URL", "OPENLINEAGE_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    assert not lineage_is_on()
    monkeypatch.setenv("AIRFLOW__OPENLINEAGE__TRANSPORT", '{"type": "console"}')
    assert lineage_is_on()
    monkeypatch.setenv("AIRFLOW__OPENLINEAGE__DISABLED", "true")
    assert not lineage_is_on()
