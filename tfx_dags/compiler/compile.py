"""Build a pipeline definition and compile it to TFX's pipeline IR plus the factory's manifest.

    python -m tfx_dags.compiler.compile --pipeline REF --kwargs-json JSON --output-dir DIR
        [--python-path FOLDER]...

REF is ``package.module:function``, ``/path/file.py:function`` or a runner file
``/path/file.py`` (``compiler/definitions.py``); ``--python-path`` names the folder a dotted
REF's package is imported from when it is not installed (a DAG folder). As TFX's own
runners do, each component's ``module_file=`` is packaged into a wheel under the pipeline
root first (``tfx_process/user_code.py``). Writes DIR/pipeline_ir.pb (what the node runner
executes), DIR/pipeline_ir.json (the same IR for people) and DIR/manifest.json (what the
Airflow side reads: node ids, types, upstream ids, which nodes train and which run Beam,
RuntimeParameters, a runner file's runner, folder and AirflowDagRunner DAG settings, and the
files read by path whose change must recompile). Exit 2 with a marked one-line reason on failure.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tfx_dags.common.contract import COMPILE_ERROR_MARKER
from tfx_dags.common.graph import RuntimeParameter, TfxNode
from tfx_dags.common.manifest import IR_FILE, IR_JSON_FILE, Manifest
from tfx_dags.common.pipeline_ref import parse_pipeline_ref
from tfx_dags.common.reply import REPLY_OPTION, Outcome, Reply, write_reply
from tfx_dags.compiler import line_errors
from tfx_dags.compiler.definitions import (
    Definition,
    DefinitionError,
    load_definition,
    working_directory,
)
from tfx_dags.tfx_process import user_code
from tfx_dags.tfx_process.error_report import report
from tfx_dags.tfx_process.lifetime import temporary_files_go_with_us

TRAINER_TYPES = ("Trainer", "Tuner")
# Runtime parameters TFX itself binds in every run; never Airflow Params.
INTERNAL_RUNTIME_PARAMETERS = ("pipeline-run-id",)


def input_channels(pipeline_node: Any) -> tuple[tuple[str, str, str], ...]:
    """Which upstream node's output each input key reads: (key, producer, output key) (the
    task reports them as its OpenLineage inputs before TFX resolves them)."""
    channels = []
    for key, spec in sorted(pipeline_node.inputs.inputs.items()):
        for channel in spec.channels:
            producer = channel.producer_node_query.id
            if producer:
                channels.append((key, producer, channel.output_key))
    return tuple(channels)


def build_manifest(
    ir: Any, definition: Definition, inputs: dict[str, str], wheels: list[str]
) -> Manifest:
    from tfx.orchestration.local import runner_utils

    deployment = runner_utils.extract_local_deployment_config(ir)
    nodes = []
    for node in ir.nodes:
        pipeline_node = node.pipeline_node
        node_id = pipeline_node.node_info.id
        spec = deployment.executor_specs.get(node_id)
        node_type = pipeline_node.node_info.type.name
        nodes.append(
            TfxNode(
                node_id=node_id,
                node_type=node_type,
                upstream=tuple(pipeline_node.upstream_nodes),
                is_trainer=node_type.rsplit(".", 1)[-1] in TRAINER_TYPES,
                is_beam=spec is not None and spec.WhichOneof("spec") == "beam_executable_spec",
                push_destination=push_destination(pipeline_node),
                inputs=input_channels(pipeline_node),
            )
        )
    runner = definition.runner or {}
    return Manifest(
        pipeline_name=ir.pipeline_info.id,
        nodes=tuple(nodes),
        pipeline_root=pipeline_root(ir),
        runtime_parameters=runtime_parameters(ir),
        python_path=tuple(definition.python_path),
        inputs=inputs,
        wheels=tuple(wheels),
        environment=definition.environment,
        airflow=definition.airflow,
        runner=runner.get("name") if definition.runner is not None else None,
        ignored_settings=tuple(runner.get("ignored", ())),
        working_dir=definition.working_dir,
        metadata=own_metadata(deployment),
    )


def pipeline_root(ir: Any) -> str:
    """The root the pipeline was compiled with (TFX keeps it as a runtime parameter)."""
    value = ir.runtime_spec.pipeline_root
    if value.HasField("runtime_parameter"):
        return str(value.runtime_parameter.default_value.string_value)
    return str(value.field_value.string_value)


def runtime_parameters(ir: Any) -> tuple[RuntimeParameter, ...]:
    """The pipeline's RuntimeParameters (name, type, default), each once, sorted by name."""
    found: dict[str, dict[str, Any]] = {}

    def visit(message: Any) -> None:
        for descriptor, value in message.ListFields():
            if descriptor.message_type is None:
                continue
            if descriptor.message_type.GetOptions().map_entry:
                items = list(value.values())
            elif descriptor.label == descriptor.LABEL_REPEATED:
                items = list(value)
            else:
                items = [value]
            for item in items:
                if descriptor.name == "runtime_parameter":
                    add(item)
                elif hasattr(item, "ListFields"):
                    visit(item)

    from tfx.proto.orchestration import pipeline_pb2

    kinds = pipeline_pb2.RuntimeParameter
    names = {kinds.INT: "int", kinds.DOUBLE: "float", kinds.STRING: "str"}

    def add(parameter: Any) -> None:
        if parameter.name in INTERNAL_RUNTIME_PARAMETERS:
            return
        kind = names.get(parameter.type)
        if kind is None:
            raise DefinitionError(
                f"RuntimeParameter {parameter.name!r} is neither str, int nor float"
            )
        default = None
        if parameter.HasField("default_value"):
            which = parameter.default_value.WhichOneof("value")
            default = getattr(parameter.default_value, which) if which else None
        entry = {"name": parameter.name, "type": kind, "default": default}
        if found.setdefault(parameter.name, entry) != entry:
            raise DefinitionError(
                f"RuntimeParameter {parameter.name!r} is declared twice, differently"
            )

    for node in ir.nodes:
        visit(node.pipeline_node)
    return tuple(
        RuntimeParameter(found[name]["name"], found[name]["type"], found[name]["default"])
        for name in sorted(found)
    )


def own_metadata(deployment: Any) -> str | None:
    """The pipeline's own metadata_connection_config, described without credentials."""
    from tfx_dags.mlmd.connection import describe_config, own_connection_config

    config = own_connection_config(deployment)
    return None if config is None else describe_config(config)


def push_destination(pipeline_node: Any) -> str | None:
    """A Pusher's filesystem base directory, read from its ``push_destination`` property."""
    value = pipeline_node.parameters.parameters.get("push_destination")
    if value is None or not value.field_value.HasField("string_value"):
        return None
    filesystem = json.loads(value.field_value.string_value).get("filesystem", {})
    return filesystem.get("base_directory") or filesystem.get("baseDirectory") or None


def compile_pipeline(
    reference: str, kwargs: dict[str, Any], output_dir: Path, python_path: Sequence[str] = ()
) -> None:
    """``python_path``: the folders a dotted reference's user code is imported from (the
    Airflow side's ``PipelineRef.locate``), first on the path here and in every
    node."""
    # The definition runs first, so that its errors are reported before TFX is imported.
    definition = load_definition(parse_pipeline_ref(reference), kwargs, python_path)

    from google.protobuf import json_format
    from tfx.dsl.compiler import compiler
    from tfx.orchestration import pipeline as tfx_pipeline

    pipeline = definition.pipeline
    if not isinstance(pipeline, tfx_pipeline.Pipeline):
        raise DefinitionError(
            f"{reference} returned {type(pipeline).__name__}, not a tfx.dsl.Pipeline"
        )
    # A runner file's module_file= and other relative paths resolve from its folder.
    folder = working_directory(Path(definition.working_dir)) if definition.working_dir else None
    with folder or contextlib.nullcontext():
        inputs, wheels = user_code.package_module_files(pipeline)
    ir = compiler.Compiler().compile(pipeline)
    user_code.fingerprint_user_executors(ir, definition.user_folders)
    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / IR_FILE).write_bytes(ir.SerializeToString())
    (output_dir / IR_JSON_FILE).write_text(json_format.MessageToJson(ir))
    build_manifest(ir, definition, inputs, wheels).write(output_dir)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pipeline", required=True)
    parser.add_argument("--kwargs-json", default="{}")
    parser.add_argument("--output-dir", required=True, type=Path)
    parser.add_argument("--python-path", action="append", default=[])
    parser.add_argument(REPLY_OPTION, type=Path, help="write the compile's reply here")
    args = parser.parse_args(argv)
    with temporary_files_go_with_us("tfx-dags-compile-"):
        try:
            compile_pipeline(
                args.pipeline, json.loads(args.kwargs_json), args.output_dir, args.python_path
            )
            reply = Reply(Outcome.OK)
        except Exception as error:  # noqa: BLE001 - every failure becomes one reported reason
            reason = line_errors.explain(error)
            message = report(COMPILE_ERROR_MARKER, DefinitionError(reason) if reason else error)
            reply = Reply(Outcome.FAILED, message)
    return write_reply(args.reply, reply)


if __name__ == "__main__":
    sys.exit(main())
