"""tfx_dags.runner.baseline on a store TFX's helpers filled: a spans= run's Evaluator
compares against the latest blessed model of an earlier window, never a newer one."""

from __future__ import annotations

from typing import Any

from tfx.proto.orchestration import pipeline_pb2
from tfx.types import standard_artifacts

from tfx_dags.runner.baseline import earlier_blessed, picks_latest_blessed_model, restrict_baseline

STRATEGY = "tfx.dsl.input_resolution.strategies.latest_blessed_model_strategy"


def resolver_node() -> Any:
    """TFX's latest blessed model resolver as TFX 1.15 and 1.16 compile it: hidden inputs
    of the pipeline's models and blessings, and an input graph applying the strategy."""
    node = pipeline_pb2.PipelineNode()
    node.node_info.id = "latest_blessed_model_resolver"
    for key, type_name in (
        ("_generated_model_3", "Model"),
        ("_generated_blessing_4", "ModelBlessing"),
    ):
        spec = node.inputs.inputs[key]
        spec.hidden = True
        channel = spec.channels.add()
        channel.artifact_query.type.name = type_name
    node.inputs.inputs["model"].input_graph_ref.graph_id = "graph_1"
    graph = node.inputs.input_graphs["graph_1"]
    graph.nodes["op_1"].op_node.op_type = f"{STRATEGY}.LatestBlessedModelStrategy"
    graph.nodes["input_3"].input_node.input_key = "_generated_model_3"
    graph.nodes["input_4"].input_node.input_key = "_generated_blessing_4"
    # An input outside the graph (the node's own) is left as it is.
    node.inputs.inputs["candidate"].channels.add().artifact_query.type.name = "Model"
    return node


def model_of(tfx: Any, run_id: str, span: int, *, blessed: bool) -> tuple[Any, Any]:
    examples = tfx.artifact(standard_artifacts.Examples, span=span)
    tfx.execute("p", run_id, "CsvExampleGen", outputs={"examples": [examples]})
    model = tfx.artifact(standard_artifacts.Model)
    tfx.execute("p", run_id, "Trainer", inputs={"examples": [examples]}, outputs={"model": [model]})
    blessing = tfx.artifact(
        standard_artifacts.ModelBlessing, blessed=int(blessed), current_model_id=model.id
    )
    tfx.execute(
        "p", run_id, "Evaluator", inputs={"model": [model]}, outputs={"blessing": [blessing]}
    )
    return model, blessing


def test_the_baseline_is_the_latest_blessed_model_of_an_earlier_window(tfx: Any) -> None:
    ten, ten_blessing = model_of(tfx, "a", 10, blessed=True)
    model_of(tfx, "b", 11, blessed=False)
    twelve, _ = model_of(tfx, "c", 12, blessed=True)
    found = earlier_blessed(tfx.store, "p", 13)
    assert found is not None and found[0] == twelve.id
    # A backfill of span 12 (or its reprocess): not the model of its own window, nor newer.
    assert earlier_blessed(tfx.store, "p", 12) == (ten.id, ten_blessing.id)
    assert earlier_blessed(tfx.store, "p", 10) is None
    node = resolver_node()
    assert picks_latest_blessed_model(node)
    line = restrict_baseline(tfx.store, "p", node, 12)
    assert line == f"the blessed model of a window before span 12: model {ten.id}"
    inputs = node.inputs.inputs
    assert list(inputs["_generated_model_3"].static_inputs.artifact_ids) == [ten.id]
    assert list(inputs["_generated_blessing_4"].static_inputs.artifact_ids) == [ten_blessing.id]
    assert not inputs["_generated_model_3"].channels
    assert inputs["candidate"].channels and not inputs["candidate"].HasField("static_inputs")


def test_without_an_earlier_blessed_model_there_is_no_baseline(tfx: Any) -> None:
    model_of(tfx, "a", 10, blessed=True)
    node = resolver_node()
    assert restrict_baseline(tfx.store, "p", node, 10).endswith("no baseline")
    spec = node.inputs.inputs["_generated_model_3"]
    assert spec.HasField("static_inputs") and not spec.static_inputs.artifact_ids
    assert not picks_latest_blessed_model(pipeline_pb2.PipelineNode())
