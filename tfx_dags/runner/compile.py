"""Build a pipeline definition and compile it to TFX's pipeline IR plus the factory's manifest.

    python -m tfx_dags.runner.compile --pipeline REF --kwargs-json JSON --output-dir DIR

Writes DIR/pipeline_ir.pb (what the node runner executes), DIR/pipeline_ir.json (the same IR
for people) and DIR/manifest.json (what the Airflow side reads: node ids, types, upstream
ids, which nodes train and which run Beam). Exit 2 with a marked one-line reason on failure.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tfx_dags.config import parse_pipeline_ref
from tfx_dags.graph import MANIFEST_FORMAT
from tfx_dags.runner.errors import COMPILE_ERROR_MARKER, report

TRAINER_TYPES = ("Trainer", "Tuner")
# Nodes that read a file TFX's cache does not fingerprint (it sees only the path): never
# cached, so that an edited schema.pbtxt takes effect on the next run.
UNCACHEABLE_TYPES = ("ImportSchemaGen",)


class DefinitionError(Exception):
    """The pipeline reference does not lead to a usable pipeline function."""


def load_pipeline_function(reference: str) -> Callable[..., Any]:
    ref = parse_pipeline_ref(reference)
    if ref.is_file:
        path = Path(ref.module)
        if not path.is_file():
            raise DefinitionError(f"pipeline file {path} does not exist")
        spec = importlib.util.spec_from_file_location(f"tfx_dags_pipeline_{path.stem}", path)
        if spec is None or spec.loader is None:
            raise DefinitionError(f"cannot load {path} as a Python module")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    else:
        module = importlib.import_module(ref.module)
    function = getattr(module, ref.function, None)
    if not callable(function):
        raise DefinitionError(f"{module.__file__} defines no function {ref.function!r}")
    return function


def build_manifest(ir: Any) -> dict[str, Any]:
    from tfx.orchestration.local import runner_utils

    deployment = runner_utils.extract_local_deployment_config(ir)
    nodes = []
    for node in ir.nodes:
        pipeline_node = node.pipeline_node
        node_id = pipeline_node.node_info.id
        spec = deployment.executor_specs.get(node_id)
        node_type = pipeline_node.node_info.type.name
        nodes.append(
            {
                "id": node_id,
                "type": node_type,
                "upstream": list(pipeline_node.upstream_nodes),
                "is_trainer": node_type.rsplit(".", 1)[-1] in TRAINER_TYPES,
                "is_beam": spec is not None and spec.WhichOneof("spec") == "beam_executable_spec",
                "push_destination": push_destination(pipeline_node),
            }
        )
    return {
        "format": MANIFEST_FORMAT,
        "pipeline_name": ir.pipeline_info.id,
        "execution_mode": "SYNC",
        "nodes": nodes,
    }


def push_destination(pipeline_node: Any) -> str | None:
    """A Pusher's filesystem base directory, read from its ``push_destination`` property."""
    value = pipeline_node.parameters.parameters.get("push_destination")
    if value is None or not value.field_value.HasField("string_value"):
        return None
    filesystem = json.loads(value.field_value.string_value).get("filesystem", {})
    return filesystem.get("base_directory") or filesystem.get("baseDirectory") or None


def compile_pipeline(reference: str, kwargs: dict[str, Any], output_dir: Path) -> None:
    # The definition runs first, so that its errors are reported before TFX is imported.
    pipeline = load_pipeline_function(reference)(**kwargs)

    from google.protobuf import json_format
    from tfx.dsl.compiler import compiler
    from tfx.orchestration import pipeline as tfx_pipeline

    if not isinstance(pipeline, tfx_pipeline.Pipeline):
        raise DefinitionError(
            f"{reference} returned {type(pipeline).__name__}, not a tfx.dsl.Pipeline"
        )
    ir = compiler.Compiler().compile(pipeline)
    for node in ir.nodes:
        if node.pipeline_node.node_info.type.name.rsplit(".", 1)[-1] in UNCACHEABLE_TYPES:
            node.pipeline_node.execution_options.caching_options.enable_cache = False
    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / "pipeline_ir.pb").write_bytes(ir.SerializeToString())
    (output_dir / "pipeline_ir.json").write_text(json_format.MessageToJson(ir))
    manifest = build_manifest(ir)
    (output_dir / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pipeline", required=True)
    parser.add_argument("--kwargs-json", default="{}")
    parser.add_argument("--output-dir", required=True, type=Path)
    args = parser.parse_args(argv)
    try:
        compile_pipeline(args.pipeline, json.loads(args.kwargs_json), args.output_dir)
    except Exception as error:  # noqa: BLE001 - every failure becomes one reported reason
        report(COMPILE_ERROR_MARKER, error)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
