"""tfx_dags.runner.push_guard on a store TFX's helpers filled: a model of an older window
of spans is never pushed over the one pushed last; the spans are read through lineage."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tfx.proto import pusher_pb2
from tfx.proto.orchestration import pipeline_pb2
from tfx.types import standard_artifacts
from tfx.utils import proto_utils

from tfx_dags.mlmd.spans import derived_spans
from tfx_dags.runner.push_guard import LOCKS_FOLDER, OlderWindow, PushWindow, check, guarded_push


def pusher_node(base: Path) -> Any:
    """The Pusher as the IR carries it: its model input read from the Trainer's output."""
    node = pipeline_pb2.PipelineNode()
    node.node_info.id = "Pusher"
    node.node_info.type.name = "tfx.components.pusher.component.Pusher"
    channel = node.inputs.inputs["model"].channels.add()
    channel.producer_node_query.id = "Trainer"
    channel.output_key = "model"
    # As TFX writes a proto exec property into the IR (its field names: base_directory).
    destination = pusher_pb2.PushDestination(
        filesystem=pusher_pb2.PushDestination.Filesystem(base_directory=str(base))
    )
    node.parameters.parameters[
        "push_destination"
    ].field_value.string_value = proto_utils.proto_to_json(destination)
    return node


def trained(tfx: Any, run_id: str, span: int, *, transform: bool = False) -> Any:
    """One run's ExampleGen of ``span`` (through Transform, if asked) and its Trainer."""
    examples = tfx.artifact(standard_artifacts.Examples, span=span)
    tfx.execute("p", run_id, "CsvExampleGen", outputs={"examples": [examples]})
    if transform:
        transformed = tfx.artifact(standard_artifacts.Examples)
        tfx.execute(
            "p",
            run_id,
            "Transform",
            inputs={"examples": [examples]},
            outputs={"transformed_examples": [transformed]},
        )
        examples = transformed
    model = tfx.artifact(standard_artifacts.Model)
    tfx.execute("p", run_id, "Trainer", inputs={"examples": [examples]}, outputs={"model": [model]})
    return model


def pushed(tfx: Any, run_id: str, model: Any) -> None:
    push = tfx.artifact(standard_artifacts.PushedModel, pushed=1, pushed_destination="/s/1")
    tfx.execute("p", run_id, "Pusher", inputs={"model": [model]}, outputs={"pushed_model": [push]})


def test_an_older_windows_model_is_not_pushed_over_a_newer_one(
    tfx: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TFX_DAGS_HOME", str(tmp_path / "home"))
    node = pusher_node(tmp_path / "serving")
    first = trained(tfx, "span-12", 12)
    assert check(tfx.store, "p", "span-12", node) == PushWindow((12,), ())
    pushed(tfx, "span-12", first)
    trained(tfx, "span-10", 10)  # a backfill of an older interval
    with pytest.raises(OlderWindow, match=r"trained on spans 10, older than the model .* 12"):
        check(tfx.store, "p", "span-10", node)
    trained(tfx, "span-13", 13, transform=True)
    assert check(tfx.store, "p", "span-13", node) == PushWindow((13,), (12,))
    with guarded_push(tfx.store, "p", "span-13", node) as window:
        assert window.model_spans == (13,)
        assert len(list((tmp_path / "home" / LOCKS_FOLDER).glob("push-*.lock"))) == 1
    assert not (tmp_path / "serving").exists(), "nothing is added to the served folder"


def test_spans_are_read_back_through_transform_and_the_trainer(tfx: Any) -> None:
    model = trained(tfx, "r", 7, transform=True)
    assert derived_spans(tfx.store, model.id) == {7}
    # A pipeline without span patterns: ExampleGen records no span, nothing is compared.
    plain = tfx.artifact(standard_artifacts.Examples)
    tfx.execute("p", "plain", "CsvExampleGen", outputs={"examples": [plain]})
    assert derived_spans(tfx.store, plain.id) == set()


def test_a_pusher_without_a_model_input_is_left_alone(tfx: Any, tmp_path: Path) -> None:
    node = pusher_node(tmp_path / "serving")
    del node.inputs.inputs["model"]
    assert check(tfx.store, "p", "r", node) == PushWindow()
    assert "model" not in node.inputs.inputs, "no input added to the node"
