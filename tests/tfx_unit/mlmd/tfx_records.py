"""An in-memory ML Metadata store filled the way TFX's launcher fills it, through TFX's own
``tfx.orchestration.portable`` helpers: contexts (``context_lib.prepare_contexts``), node
executions registered with their inputs, then published COMPLETE, FAILED or CACHED with their
outputs (``execution_publish_utils``)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ml_metadata.proto import metadata_store_pb2
from tfx.orchestration import metadata
from tfx.orchestration.portable import execution_publish_utils
from tfx.orchestration.portable.mlmd import context_lib
from tfx.proto.orchestration import pipeline_pb2
from tfx.types import artifact as tfx_artifact
from tfx.types import standard_artifacts


def in_memory_config() -> metadata_store_pb2.ConnectionConfig:
    return metadata_store_pb2.ConnectionConfig(
        fake_database=metadata_store_pb2.FakeDatabaseConfig()
    )


class TfxStore:
    """One in-memory store, and the pipeline runs written into it as TFX writes them."""

    def __init__(self, handle: metadata.Metadata, root: Path) -> None:
        self.handle = handle
        self.store = handle.store
        self.root = root
        self._count = 0
        self.made: dict[str, Any] = {}

    def contexts(self, pipeline: str, run_id: str, node_id: str) -> list[Any]:
        spec = pipeline_pb2.NodeContexts()
        for type_name, name in (
            ("pipeline", pipeline),
            ("pipeline_run", run_id),
            ("node", f"{pipeline}.{node_id}"),
        ):
            context = spec.contexts.add()
            context.type.name = type_name
            context.name.field_value.string_value = name
        return context_lib.prepare_contexts(self.handle, spec)

    def artifact(self, kind: type[tfx_artifact.Artifact], **custom: Any) -> tfx_artifact.Artifact:
        self._count += 1
        made = kind()
        made.uri = str(self.root / f"{kind.TYPE_NAME}" / str(self._count))
        for name, value in custom.items():
            if isinstance(value, int):
                made.set_int_custom_property(name, value)
            else:
                made.set_string_custom_property(name, value)
        return made

    def execute(
        self,
        pipeline: str,
        run_id: str,
        node_id: str,
        *,
        inputs: Mapping[str, Sequence[tfx_artifact.Artifact]] | None = None,
        outputs: Mapping[str, Sequence[tfx_artifact.Artifact]] | None = None,
        state: str = "COMPLETE",
        exec_properties: Mapping[str, Any] | None = None,
    ) -> Any:
        """One execution of a node: registered RUNNING with its inputs, then (unless
        ``state`` is RUNNING) published COMPLETE with ``outputs``, FAILED, or CACHED with
        ``outputs`` (artifacts published earlier)."""
        contexts = self.contexts(pipeline, run_id, node_id)
        execution_type = metadata_store_pb2.ExecutionType(name=f"tfx.components.{node_id}")
        execution = execution_publish_utils.register_execution(
            self.handle,
            execution_type,
            contexts,
            input_artifacts={key: list(value) for key, value in (inputs or {}).items()},
            exec_properties=dict(exec_properties or {}),
        )
        outputs = {key: list(value) for key, value in (outputs or {}).items()}
        if state == "COMPLETE":
            execution_publish_utils.publish_succeeded_execution(
                self.handle, execution.id, contexts, outputs
            )
        elif state == "FAILED":
            execution_publish_utils.publish_failed_execution(self.handle, contexts, execution.id)
        elif state == "CACHED":
            execution_publish_utils.publish_cached_executions(
                self.handle, contexts, [execution], [outputs]
            )
        for artifact in (a for value in outputs.values() for a in value):
            if not artifact.id:  # published: the id ML Metadata gave it, by its URI
                [stored] = self.store.get_artifacts_by_uri(artifact.uri)
                artifact.set_mlmd_artifact(stored)
        [execution] = self.store.get_executions_by_id([execution.id])
        return execution


@contextmanager
def tfx_store(root: Path) -> Iterator[TfxStore]:
    with metadata.Metadata(in_memory_config()) as handle:
        yield TfxStore(handle, root)


def penguin_runs(tfx: TfxStore) -> dict[str, Any]:
    """Two runs of a penguin pipeline and one of another: in run-1 the Trainer fails once and
    succeeds on its retry, the Evaluator blesses the model and the Pusher pushes it; run-2 is
    a cache hit for every node (its Pusher outputs run-1's push); run-3's Pusher does not
    push (its model not blessed) and its Trainer is still RUNNING."""
    made: dict[str, Any] = {}
    p = "penguin"
    tfx.root.mkdir(parents=True, exist_ok=True)
    examples = tfx.artifact(standard_artifacts.Examples)
    made["examples"] = examples
    tfx.execute(
        p,
        "run-1",
        "CsvExampleGen",
        outputs={"examples": [examples]},
        exec_properties={"input_base": "/data"},
    )
    made["failed_trainer"] = tfx.execute(
        p, "run-1", "Trainer", inputs={"examples": [examples]}, state="FAILED"
    )
    model = tfx.artifact(standard_artifacts.Model)
    tfx.execute(
        p,
        "run-1",
        "Trainer",
        inputs={"examples": [examples]},
        outputs={"model": [model]},
        exec_properties={"train_steps": 10},
    )
    made["model"] = model
    model_id = model.id
    evaluation = tfx.artifact(standard_artifacts.ModelEvaluation)
    blessing = tfx.artifact(standard_artifacts.ModelBlessing, blessed=1, current_model_id=model_id)
    tfx.execute(
        p,
        "run-1",
        "Evaluator",
        inputs={"model": [model], "examples": [examples]},
        outputs={"evaluation": [evaluation], "blessing": [blessing]},
    )
    pushed = tfx.artifact(
        standard_artifacts.PushedModel, pushed=1, pushed_destination="/serving/penguin/1"
    )
    tfx.execute(
        p,
        "run-1",
        "Pusher",
        inputs={"model": [model], "model_blessing": [blessing]},
        outputs={"pushed_model": [pushed]},
    )
    for node, outs in (
        ("CsvExampleGen", {"examples": [examples]}),
        ("Trainer", {"model": [model]}),
        ("Evaluator", {"evaluation": [evaluation], "blessing": [blessing]}),
        ("Pusher", {"pushed_model": [pushed]}),
    ):
        tfx.execute(p, "run-2", node, outputs=outs, state="CACHED")
    examples3 = tfx.artifact(standard_artifacts.Examples)
    tfx.execute(p, "run-3", "CsvExampleGen", outputs={"examples": [examples3]})
    model3 = tfx.artifact(standard_artifacts.Model)
    tfx.execute(
        p, "run-3", "Trainer", inputs={"examples": [examples3]}, outputs={"model": [model3]}
    )
    model3_id = model3.id
    blessing3 = tfx.artifact(
        standard_artifacts.ModelBlessing, blessed=0, current_model_id=model3_id
    )
    tfx.execute(
        p,
        "run-3",
        "Evaluator",
        inputs={"model": [model3], "baseline_model": [model]},
        outputs={"blessing": [blessing3]},
    )
    not_pushed = tfx.artifact(standard_artifacts.PushedModel, pushed=0)
    tfx.execute(
        p,
        "run-3",
        "Pusher",
        inputs={"model": [model3], "model_blessing": [blessing3]},
        outputs={"pushed_model": [not_pushed]},
    )
    made["running"] = tfx.execute(
        p, "run-3", "Trainer2", inputs={"examples": [examples3]}, state="RUNNING"
    )
    made.update(
        evaluation=evaluation,
        blessing=blessing,
        pushed=pushed,
        examples3=examples3,
        model3=model3,
        blessing3=blessing3,
        not_pushed=not_pushed,
    )
    other = tfx.artifact(standard_artifacts.Examples)
    tfx.execute("other", "run-o", "CsvExampleGen", outputs={"examples": [other]})
    return made
