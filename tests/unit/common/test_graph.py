from __future__ import annotations

from typing import Any

import pytest

from tfx_dags.common.errors import ManifestError
from tfx_dags.common.graph import PipelineGraph, RuntimeParameter
from tfx_dags.common.manifest import MANIFEST_FORMAT, Manifest


def graph_from_manifest(manifest: dict[str, Any]) -> PipelineGraph:
    return Manifest.from_json(manifest).graph


def manifest(*nodes: dict[str, Any]) -> dict[str, Any]:
    return {"format": MANIFEST_FORMAT, "pipeline_name": "p", "nodes": list(nodes)}


def node(node_id: str, *upstream: str, **flags: bool) -> dict[str, Any]:
    return {"id": node_id, "type": f"tfx.components.{node_id}", "upstream": list(upstream), **flags}


def test_nodes_come_out_upstream_first_whatever_the_manifest_order() -> None:
    graph = graph_from_manifest(
        manifest(node("Pusher", "Trainer"), node("Trainer", "Gen"), node("Gen"))
    )
    assert [n.node_id for n in graph.nodes] == ["Gen", "Trainer", "Pusher"]
    assert set(graph.edges) == {("Gen", "Trainer"), ("Trainer", "Pusher")}


def test_diamond_keeps_both_branches_and_manifest_order_among_ready_nodes() -> None:
    graph = graph_from_manifest(
        manifest(
            node("Gen"),
            node("Resolver"),
            node("Stats", "Gen"),
            node("Transform", "Gen", "Stats"),
            node("Evaluator", "Transform", "Resolver"),
        )
    )
    assert [n.node_id for n in graph.nodes] == [
        "Gen",
        "Resolver",
        "Stats",
        "Transform",
        "Evaluator",
    ]
    assert graph.node("Evaluator").upstream == ("Transform", "Resolver")


def test_flags_are_carried() -> None:
    graph = graph_from_manifest(
        manifest(node("Gen", is_beam=True), node("Trainer", "Gen", is_trainer=True))
    )
    assert graph.node("Gen").is_beam and not graph.node("Gen").is_trainer
    assert graph.node("Trainer").is_trainer and not graph.node("Trainer").is_beam


@pytest.mark.parametrize(
    ("bad_manifest", "message"),
    [
        ({"format": 99, "pipeline_name": "p", "nodes": []}, "manifest format 99"),
        ({"format": MANIFEST_FORMAT, "nodes": [node("A")]}, "no pipeline_name"),
        (manifest(), "has no nodes"),
        (manifest(node("A"), node("A")), "'A' appears twice"),
        (manifest(node("A", "Ghost")), "unknown upstream node 'Ghost'"),
        (manifest(node("A", "B"), node("B", "A"), node("C")), "cycle among: A, B"),
        (manifest({"type": "x"}), "lacks 'id'"),
        (manifest({"id": "A", "type": "x", "upstream": "B"}), "not a list of node ids"),
        (manifest("A"), "is not an object"),
        (
            {**manifest(node("A")), "runtime_parameters": [{"name": "x", "type": "bool"}]},
            "runtime parameter 'x' has type 'bool'",
        ),
        ({**manifest(node("A")), "runtime_parameters": [{"type": "int"}]}, "has no name"),
        ({**manifest(node("A")), "airflow": ["schedule"]}, "airflow settings are not an object"),
    ],
)
def test_malformed_manifests_are_rejected_with_the_reason(
    bad_manifest: dict[str, Any], message: str
) -> None:
    with pytest.raises(ManifestError, match=message):
        graph_from_manifest(bad_manifest)


def test_runtime_parameters_and_the_pipelines_own_settings_are_read() -> None:
    graph = graph_from_manifest(
        {
            **manifest(node("A")),
            "runtime_parameters": [
                {"name": "data_root", "type": "str", "default": "/data"},
                {"name": "steps", "type": "int", "default": None},
            ],
            "pipeline_root": "/home/me/tfx/pipelines/p",
            "airflow": {"schedule_interval": None},
            "metadata": "SQLite /home/me/tfx/metadata.db",
        }
    )
    assert graph.runtime_parameters == (
        RuntimeParameter("data_root", "str", "/data"),
        RuntimeParameter("steps", "int", None),
    )
    assert graph.pipeline_root == "/home/me/tfx/pipelines/p"
    assert graph.airflow == {"schedule_interval": None}
    assert graph.metadata == "SQLite /home/me/tfx/metadata.db"


def test_input_channels_say_which_upstream_output_each_input_reads() -> None:
    trainer = {
        **node("Trainer", "Gen", "Schema"),
        "inputs": [
            {"key": "examples", "producer": "Gen", "output_key": "examples"},
            {"key": "schema", "producer": "Schema", "output_key": "schema"},
        ],
    }
    graph = graph_from_manifest(manifest(node("Gen"), node("Schema", "Gen"), trainer))
    assert graph.node("Trainer").inputs == (
        ("examples", "Gen", "examples"),
        ("schema", "Schema", "schema"),
    )
    assert graph.node("Gen").inputs == ()
    with pytest.raises(ManifestError, match="input .* of node 'Trainer' is malformed"):
        graph_from_manifest(manifest(node("Gen"), {**trainer, "inputs": [{"key": "examples"}]}))
