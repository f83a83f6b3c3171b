"""A TFX node's ML Metadata artifacts as OpenLineage datasets, for Airflow's OpenLineage
provider (``apache-airflow-providers-openlineage``).

Each artifact is a dataset named after its URI (OpenLineage's naming: a local path is
namespace ``file``, ``gs://bucket/key`` is namespace ``gs://bucket`` and name ``key``), with
the facets a catalog needs to tie it to ML Metadata: ``tfxDags_artifact`` (TFX type, ML
Metadata id, pipeline, node, key, properties), ``symlinks`` (the ML Metadata store's URI
without credentials, ``<type>/<id>``) and ``version`` (the id). An ExampleGen's raw input
folder and a Pusher's pushed model folder are datasets too, so the chain raw CSV -> Examples
-> Transform graph -> Model -> pushed model reads across tasks and DAGs.

Imported only from the operator's ``get_openlineage_facets_*`` methods, which the provider
calls only when lineage is on: off, nothing here is imported.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import PurePosixPath
from typing import Any, ClassVar
from urllib.parse import urlsplit

import attrs
from airflow.providers.openlineage.extractors import OperatorLineage
from openlineage.client.event_v2 import InputDataset, OutputDataset
from openlineage.client.facet_v2 import (
    DatasetFacet,
    dataset_version_dataset,
    lifecycle_state_change_dataset,
    symlinks_dataset,
)

FACET_KEY = "tfxDags_artifact"
# The facet's JSON schema ships with the project: docs/openlineage/TfxDagsArtifactDatasetFacet.json
FACET_SCHEMA_URL = (
    "https://tfx-dags.invalid/spec/facets/1-0-0/TfxDagsArtifactDatasetFacet.json"
    "#/$defs/TfxDagsArtifactDatasetFacet"
)

Artifacts = Mapping[str, Iterable[Mapping[str, Any]]]


@attrs.define
class TfxDagsArtifactDatasetFacet(DatasetFacet):
    """What ML Metadata knows of the artifact behind a dataset."""

    artifactType: str
    mlmdArtifactId: int | None = attrs.field(default=None)
    pipeline: str = attrs.field(default="")
    node: str = attrs.field(default="")
    key: str = attrs.field(default="")
    # "artifact": the ML Metadata artifact's own URI; "raw data": an ExampleGen's input
    # folder; "pushed model": where a Pusher copied the model.
    role: str = attrs.field(default="artifact")
    properties: dict[str, Any] = attrs.field(factory=dict)

    _additional_skip_redact: ClassVar[list[str]] = ["artifactType", "pipeline", "node", "key"]

    @staticmethod
    def _get_schema() -> str:
        return FACET_SCHEMA_URL


def dataset_name(uri: str) -> tuple[str, str]:
    """(namespace, name) of a URI, by OpenLineage's naming rules."""
    parts = urlsplit(uri)
    if parts.scheme in ("", "file"):
        return "file", str(PurePosixPath(parts.path or uri))
    return f"{parts.scheme}://{parts.netloc}", parts.path.lstrip("/")


def operator_lineage(
    *,
    pipeline: str,
    node_id: str,
    inputs: Artifacts,
    outputs: Artifacts,
    external_inputs: Iterable[str] = (),
    store: str = "",
) -> OperatorLineage:
    """The task's lineage: ``inputs``/``outputs`` are ``{key: [{"id", "uri", "type",
    "custom_properties"}]}`` as the node runner reports them from ML Metadata; ``store``
    the URI of that store (artifact ids are ids in it)."""
    store = store or f"mlmd://{pipeline}"
    input_datasets = [
        InputDataset(
            *dataset_name(uri),
            facets={
                FACET_KEY: TfxDagsArtifactDatasetFacet(
                    "ExternalArtifact", node=node_id, pipeline=pipeline, role="raw data"
                )
            },
        )
        for uri in external_inputs
    ]
    for key, artifact in _each(inputs):
        namespace, name = dataset_name(artifact["uri"])
        facets = _facets(pipeline, node_id, key, artifact, store=store)
        input_datasets.append(InputDataset(namespace, name, facets=facets))
    output_datasets = []
    created = lifecycle_state_change_dataset.LifecycleStateChangeDatasetFacet(
        lifecycleStateChange=lifecycle_state_change_dataset.LifecycleStateChange.CREATE
    )
    for key, artifact in _each(outputs):
        namespace, name = dataset_name(artifact["uri"])
        facets = {
            **_facets(pipeline, node_id, key, artifact, store=store),
            "lifecycleStateChange": created,
        }
        output_datasets.append(OutputDataset(namespace, name, facets=facets))
        properties = artifact.get("custom_properties") or {}
        if artifact.get("type") == "PushedModel" and properties.get("pushed") == 1:
            destination = str(properties.get("pushed_destination", ""))
            if destination:
                namespace, name = dataset_name(destination)
                pushed = _facets(pipeline, node_id, key, artifact, store=store, role="pushed model")
                output_datasets.append(
                    OutputDataset(
                        namespace, name, facets={**pushed, "lifecycleStateChange": created}
                    )
                )
    return OperatorLineage(inputs=input_datasets, outputs=output_datasets)


def _each(artifacts: Artifacts) -> Iterable[tuple[str, Mapping[str, Any]]]:
    for key in sorted(artifacts):
        for artifact in artifacts[key]:
            if artifact.get("uri"):
                yield key, artifact


def _facets(
    pipeline: str,
    node_id: str,
    key: str,
    artifact: Mapping[str, Any],
    *,
    store: str,
    role: str = "artifact",
) -> dict[str, Any]:
    artifact_id = artifact.get("id")
    kind = str(artifact.get("type") or "")
    return {
        FACET_KEY: TfxDagsArtifactDatasetFacet(
            artifactType=kind,
            mlmdArtifactId=artifact_id,
            pipeline=pipeline,
            node=node_id,
            key=key,
            role=role,
            properties=dict(artifact.get("custom_properties") or {}),
        ),
        "symlinks": symlinks_dataset.SymlinksDatasetFacet(
            identifiers=[
                symlinks_dataset.Identifier(
                    namespace=store, name=f"{kind}/{artifact_id}", type="ARTIFACT"
                )
            ]
        ),
        "version": dataset_version_dataset.DatasetVersionDatasetFacet(
            datasetVersion=str(artifact_id)
        ),
    }
