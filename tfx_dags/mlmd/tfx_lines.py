"""One store, several TFX lines: each pipeline's history belongs to the TFX line that made it.

ML Metadata 1.15 and 1.16 use the same schema (version 10), so the TFX 1.15 and 1.16
environments of a deployment open one store. But TFX's cache key and its resolvers (the
Evaluator's "latest blessed model" baseline) do not look at the TFX version: the same
pipeline name run by two lines would reuse the other line's cached outputs and compare
against its blessed models. So the first node of a pipeline records its TFX line on the
pipeline's context (``tfx_dags_tfx_line``); a node of another line finds it there and stops
before any work, and the store stays as it was. A context made before this existed (by TFX's
own runners, or an older tfx_dags) is claimed by the first line that runs it here.
"""

from __future__ import annotations

import re
from importlib import metadata
from typing import Any

from tfx_dags.common.errors import TfxDagsError
from tfx_dags.common.reply import NonRetryableError
from tfx_dags.common.tfx_envs import tfx_version
from tfx_dags.mlmd.lineage import LINE_PROPERTY, PIPELINE_CONTEXT

SCHEMA_ERROR = re.compile(
    r"MLMD database version (\d+) is (greater|older) than library version (\d+)"
)


class LineConflict(NonRetryableError):
    """The pipeline's history in this store belongs to another TFX line: the same store
    refuses a retry the same way."""

    def __init__(self, *, pipeline: str, where: str, recorded: str, line: str) -> None:
        super().__init__(
            f"pipeline {pipeline!r} in ML Metadata store {where} holds the runs of TFX "
            f"{recorded}, and this DAG's TFX environment has TFX {line}. TFX's cache and its "
            "latest-blessed-model baseline do not look at the TFX version, so two lines never "
            f"share a pipeline's history: give the pipeline another name for TFX {line} (its "
            f"pipeline_name), keep the DAG on a TFX {recorded} environment (tfx_env=), or give "
            "it another store"
        )


class StoreSchemaMismatch(TfxDagsError):
    """The store's schema is not the one this environment's ML Metadata reads and writes."""


def tfx_line() -> str:
    """This environment's TFX line, ``major.minor`` of its tfx distribution (1.16.0: 1.16)."""
    version = tfx_version()
    if version is None:
        raise TfxDagsError("no TFX is installed here: ML Metadata is written by a TFX environment")
    return ".".join(version.split(".")[:2])


def claim_pipeline(store: Any, pipeline_name: str, where: str) -> None:
    """Record this environment's TFX line on the pipeline's context, or refuse with the
    reason when another line's is there. Registers the context as TFX does when it is new."""
    from ml_metadata import errors
    from ml_metadata.proto import metadata_store_pb2

    line = tfx_line()
    context = store.get_context_by_type_and_name(PIPELINE_CONTEXT, pipeline_name)
    if context is None:
        type_id = store.put_context_type(metadata_store_pb2.ContextType(name=PIPELINE_CONTEXT))
        context = metadata_store_pb2.Context(type_id=type_id, name=pipeline_name)
        context.custom_properties[LINE_PROPERTY].string_value = line
        try:
            store.put_contexts([context])
            return
        except errors.AlreadyExistsError:  # another node of the pipeline made it just now
            context = store.get_context_by_type_and_name(PIPELINE_CONTEXT, pipeline_name)
    recorded = context.custom_properties[LINE_PROPERTY].string_value
    if not recorded:
        context.custom_properties[LINE_PROPERTY].string_value = line
        store.put_contexts([context])
    elif recorded != line:
        raise LineConflict(pipeline=pipeline_name, where=where, recorded=recorded, line=line)


def explain_schema_error(error: BaseException, where: str) -> StoreSchemaMismatch | None:
    """ML Metadata's refusal to open a store of another schema version, said with what a
    deployment of several TFX lines should do; None for any other error."""
    found = SCHEMA_ERROR.search(str(error))
    if found is None:
        return None
    database, relation, library = found.groups()
    try:
        version = metadata.version("ml-metadata")
    except metadata.PackageNotFoundError:
        version = "?"
    if relation == "greater":
        fix = (
            "a newer ML Metadata upgraded it; every TFX environment that shares a store must "
            "read its schema, so give the newer line its own store, or upgrade this line"
        )
    else:
        fix = (
            "nothing upgrades a shared store silently: upgrade it deliberately, once every "
            "TFX environment that shares it has an ML Metadata of that schema"
        )
    return StoreSchemaMismatch(
        f"ML Metadata store {where} has schema version {database}; this TFX environment's "
        f"ml-metadata {version} reads and writes version {library}: {fix}"
    )
