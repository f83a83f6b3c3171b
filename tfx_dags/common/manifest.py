"""The manifest of a compiled pipeline: what the compile step (TFX environment) tells the
Airflow side and the node runner about the pipeline IR it writes beside it.

One type, one writer (``compiler/compile.py``, through ``Manifest.write``) and one reader
(``Manifest.read``, which validates every field and raises ``ManifestError``). The names of
a compiled entry's files are here too: ``IR_FILE`` (what a node runs), ``IR_JSON_FILE`` (the
same IR for people) and ``MANIFEST_FILE``. Standard library only: both environments read it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from tfx_dags.common.errors import ManifestError
from tfx_dags.common.graph import (
    RUNTIME_PARAMETER_TYPES,
    PipelineGraph,
    RuntimeParameter,
    TfxNode,
    topological,
)

# 2: runtime parameters, the pipeline's own root, store and AirflowDagRunner settings, the
# user-code path, and the files outside the compile key that the IR depends on.
MANIFEST_FORMAT = 2
IR_FILE = "pipeline_ir.pb"
IR_JSON_FILE = "pipeline_ir.json"
MANIFEST_FILE = "manifest.json"


def ir_path(directory: Path) -> Path:
    """The compiled entry's pipeline IR, which a node runs."""
    return directory / IR_FILE


def environment_digest(value: str | None) -> str | None:
    """What a manifest keeps of an environment variable's value (values may be secrets, and
    the manifest is a file): its digest, None for unset. The compile writes it, the Airflow
    side compares with it."""
    return None if value is None else hashlib.sha256(value.encode()).hexdigest()


@dataclass(frozen=True)
class Manifest:
    """What a compile found, beside the IR it wrote. ``nodes`` in the compile's order (the
    IR's); ``graph`` orders them upstream first."""

    pipeline_name: str
    nodes: tuple[TfxNode, ...]
    pipeline_root: str = ""
    execution_mode: str = "SYNC"
    runtime_parameters: tuple[RuntimeParameter, ...] = ()
    # Folders a node process puts first on sys.path (the pipeline file's folder, a dotted
    # reference's user-code folder).
    python_path: tuple[str, ...] = ()
    # Files the compile read by path outside the cache key, with their sha256.
    inputs: Mapping[str, str] = field(default_factory=dict)
    # The user-code wheels the compile built (module_file=).
    wheels: tuple[str, ...] = ()
    # Environment variables the user's files read while building the pipeline: the digest
    # of each value (``environment_digest``), None for unset.
    environment: Mapping[str, str | None] = field(default_factory=dict)
    # An AirflowDagRunner file's DAG settings (JSON form, ``common/json_dates.py``).
    airflow: Mapping[str, Any] | None = None
    # A runner file's runner (LocalDagRunner, ...) and the names of its settings that only
    # its own orchestrator used; None for a pipeline function.
    runner: str | None = None
    ignored_settings: tuple[str, ...] = ()
    # A runner file's folder: its nodes run there, as its own runner ran them.
    working_dir: str | None = None
    # The pipeline's own metadata_connection_config, described; None if it declares none.
    metadata: str | None = None

    @cached_property
    def graph(self) -> PipelineGraph:
        """The Airflow-free graph the factory renders, nodes upstream first; ManifestError
        for duplicate node ids, unknown upstream ids and cycles (``from_json`` asks for it,
        so a manifest read is a valid one)."""
        return PipelineGraph(
            self.pipeline_name,
            topological(list(self.nodes)),
            runtime_parameters=self.runtime_parameters,
            pipeline_root=self.pipeline_root,
            airflow=self.airflow,
            metadata=self.metadata,
            runner=self.runner,
            ignored_settings=self.ignored_settings,
        )

    def inputs_digest(self) -> str | None:
        """A digest of what the compile found outside its cache key (files read by path,
        environment variables read); None when it found nothing."""
        found = {
            name: value
            for name, value in (("inputs", self.inputs), ("environment", self.environment))
            if value
        }
        if not found:
            return None
        return hashlib.sha256(json.dumps(found, sort_keys=True).encode()).hexdigest()

    def to_json(self) -> dict[str, Any]:
        return {
            "format": MANIFEST_FORMAT,
            "pipeline_name": self.pipeline_name,
            "pipeline_root": self.pipeline_root,
            "execution_mode": self.execution_mode,
            "nodes": [_node_json(node) for node in self.nodes],
            "runtime_parameters": [
                {"name": parameter.name, "type": parameter.type, "default": parameter.default}
                for parameter in self.runtime_parameters
            ],
            "python_path": list(self.python_path),
            "inputs": dict(self.inputs),
            "wheels": list(self.wheels),
            "environment": dict(self.environment),
            "airflow": None if self.airflow is None else dict(self.airflow),
            "runner": None
            if self.runner is None
            else {"name": self.runner, "ignored": list(self.ignored_settings)},
            "working_dir": self.working_dir,
            "metadata": self.metadata,
        }

    def write(self, directory: Path) -> Path:
        """Write ``directory/manifest.json``; its path."""
        path = directory / MANIFEST_FILE
        path.write_text(json.dumps(self.to_json(), indent=2, sort_keys=True))
        return path

    @classmethod
    def read(cls, directory: Path) -> Manifest:
        """The manifest of the compiled entry ``directory``; ManifestError when it cannot be
        read or is malformed."""
        path = directory / MANIFEST_FILE
        try:
            value = json.loads(path.read_text())
        except (OSError, ValueError) as error:
            raise ManifestError(f"cannot read {path}: {error}") from None
        return cls.from_json(value)

    @classmethod
    def from_json(cls, manifest: Any) -> Manifest:
        """Validate a manifest's JSON value, every field of it."""
        if not isinstance(manifest, Mapping):
            raise ManifestError(f"manifest {manifest!r} is not an object")
        if manifest.get("format") != MANIFEST_FORMAT:
            raise ManifestError(
                f"manifest format {manifest.get('format')!r} is not {MANIFEST_FORMAT}; "
                "delete the compiled cache so it is rebuilt"
            )
        pipeline_name = manifest.get("pipeline_name")
        if not isinstance(pipeline_name, str) or not pipeline_name:
            raise ManifestError("manifest has no pipeline_name")
        airflow = manifest.get("airflow")
        if airflow is not None and not isinstance(airflow, Mapping):
            raise ManifestError("manifest airflow settings are not an object")
        runner = manifest.get("runner") or {}
        if not isinstance(runner, Mapping) or not isinstance(runner.get("ignored", []), list):
            raise ManifestError(f"manifest runner {runner!r} is not an object with a list")
        nodes = tuple(_node_from_entry(entry) for entry in _list(manifest, "nodes"))
        if not nodes:
            raise ManifestError(f"pipeline {pipeline_name!r} has no nodes")
        read = cls(
            pipeline_name=pipeline_name,
            nodes=nodes,
            pipeline_root=str(manifest.get("pipeline_root") or ""),
            execution_mode=_optional_str("(pipeline)", manifest, "execution_mode") or "SYNC",
            runtime_parameters=tuple(
                _runtime_parameter(entry) for entry in _list(manifest, "runtime_parameters")
            ),
            python_path=_strings(manifest, "python_path"),
            inputs=_string_map(manifest, "inputs", optional_values=False),
            wheels=_strings(manifest, "wheels"),
            environment=_string_map(manifest, "environment", optional_values=True),
            airflow=airflow,
            runner=_optional_str("(pipeline)", runner, "name"),
            ignored_settings=tuple(str(name) for name in runner.get("ignored", [])),
            working_dir=_optional_str("(pipeline)", manifest, "working_dir"),
            metadata=_optional_str("(pipeline)", manifest, "metadata"),
        )
        # Orders the nodes, refusing duplicate ids, unknown upstream ids and cycles.
        topological(list(nodes))
        return read


def _node_json(node: TfxNode) -> dict[str, Any]:
    return {
        "id": node.node_id,
        "type": node.node_type,
        "upstream": list(node.upstream),
        "is_trainer": node.is_trainer,
        "is_beam": node.is_beam,
        "push_destination": node.push_destination,
        "inputs": [
            {"key": key, "producer": producer, "output_key": output_key}
            for key, producer, output_key in node.inputs
        ],
    }


def _list(manifest: Mapping[str, Any], key: str) -> list[Any]:
    value = manifest.get(key) or []
    if not isinstance(value, list):
        raise ManifestError(f"manifest {key} {value!r} is not a list")
    return value


def _strings(manifest: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = _list(manifest, key)
    if not all(isinstance(item, str) for item in value):
        raise ManifestError(f"manifest {key} {value!r} is not a list of strings")
    return tuple(value)


def _string_map(manifest: Mapping[str, Any], key: str, *, optional_values: bool) -> dict[str, Any]:
    value = manifest.get(key) or {}
    if not isinstance(value, Mapping) or not all(
        isinstance(item, str) or (optional_values and item is None) for item in value.values()
    ):
        raise ManifestError(f"manifest {key} {value!r} is not an object of strings")
    return dict(value)


def _runtime_parameter(entry: Any) -> RuntimeParameter:
    if not isinstance(entry, Mapping) or not isinstance(entry.get("name"), str):
        raise ManifestError(f"manifest runtime parameter {entry!r} has no name")
    kind, default = entry.get("type"), entry.get("default")
    if kind not in RUNTIME_PARAMETER_TYPES:
        raise ManifestError(f"runtime parameter {entry['name']!r} has type {kind!r}")
    if default is not None and not isinstance(default, str | int | float):
        raise ManifestError(f"runtime parameter {entry['name']!r} has default {default!r}")
    return RuntimeParameter(entry["name"], kind, default)


def _node_from_entry(entry: Any) -> TfxNode:
    if not isinstance(entry, Mapping):
        raise ManifestError(f"manifest node {entry!r} is not an object")
    try:
        node_id, node_type = entry["id"], entry["type"]
    except KeyError as missing:
        raise ManifestError(f"manifest node {entry!r} lacks {missing}") from None
    upstream = entry.get("upstream", [])
    if not isinstance(node_id, str) or not node_id:
        raise ManifestError(f"manifest node id {node_id!r} is not a non-empty string")
    if not isinstance(upstream, list) or not all(isinstance(up, str) for up in upstream):
        raise ManifestError(f"upstream of node {node_id!r} is not a list of node ids")
    return TfxNode(
        node_id=node_id,
        node_type=str(node_type),
        upstream=tuple(upstream),
        is_trainer=bool(entry.get("is_trainer", False)),
        is_beam=bool(entry.get("is_beam", False)),
        push_destination=_optional_str(node_id, entry, "push_destination"),
        inputs=_input_channels(node_id, entry.get("inputs", [])),
    )


def _input_channels(node_id: str, channels: Any) -> tuple[tuple[str, str, str], ...]:
    if not isinstance(channels, list):
        raise ManifestError(f"inputs of node {node_id!r} are not a list")
    found: list[tuple[str, str, str]] = []
    for channel in channels:
        fields = (
            [channel.get(name) for name in ("key", "producer", "output_key")]
            if isinstance(channel, Mapping)
            else []
        )
        strings = [field for field in fields if isinstance(field, str)]
        if len(strings) != 3:
            raise ManifestError(f"input {channel!r} of node {node_id!r} is malformed")
        found.append((strings[0], strings[1], strings[2]))
    return tuple(found)


def _optional_str(node_id: str, entry: Mapping[str, Any], key: str) -> str | None:
    value = entry.get(key)
    if value is not None and not isinstance(value, str):
        raise ManifestError(f"{key} of node {node_id!r} is not a string")
    return value
