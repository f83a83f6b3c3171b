"""The compiled-pipeline cache: pipeline IR and manifest, rebuilt when the sources change.

DAG files run in the scheduler's environment, which holds no TFX. The compile step therefore
runs as a subprocess of the TFX environment's interpreter (``compile_process``), and its
result is cached under a key (``compile_key``) made of everything that can change it: the
pipeline reference and arguments, the source files of the pipeline's package (and the
folder it is found in, for one beside the DAG files: ``PipelineRef.locate``),
tfx_dags' own TFX-side code (``common/code_version.py``), and the TFX environment it
compiles in: its name and the versions of TFX, TensorFlow, Beam and their kin installed
there (``tfx_dags.common.tfx_envs``). Files the compile step finds on the way
(``module_file=`` folders) are listed with their digests in the manifest, and so are the
environment variables the user's files read ($HOME in TFX's examples): an entry whose
listed files or variables changed (or whose user-code wheels are gone) is compiled anew
(``compile_entries``). A parse with a warm cache hashes a few files and reads one JSON file.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from tfx_dags.airflow import compile_observer, compile_process, node_env
from tfx_dags.airflow.compile_entries import (
    DEFERRED,
    CompiledPipeline,
    entries,
    inputs_unchanged,
    mark_used,
)
from tfx_dags.airflow.compile_key import cache_key
from tfx_dags.airflow.compile_observer import CompileRequest
from tfx_dags.common import settings, tfx_envs
from tfx_dags.common.errors import ManifestError
from tfx_dags.common.graph import PipelineGraph
from tfx_dags.common.manifest import Manifest
from tfx_dags.common.pipeline_ref import PipelineRef

__all__ = ["CompiledPipeline", "ensure_compiled"]


def ensure_compiled(
    *,
    cache_name: str,
    ref: PipelineRef,
    kwargs: Mapping[str, Any],
    tfx_env: str | None = None,
) -> CompiledPipeline:
    """Return the compiled pipeline, compiling it first if the cache holds no current copy.
    ``cache_name`` is the cache folder: the DAG id, or for a runner file (whose
    DAG id only its compile tells) a name made from the file's. ``tfx_env``: the TFX
    environment that compiles it (and runs its nodes); default, the deployment's default."""
    started = time.monotonic()
    observer = compile_observer.current()
    request = CompileRequest(cache_name, ref, dict(kwargs), tfx_env)
    env = tfx_envs.resolve(tfx_env)
    # What the compile sees (the user's pipeline file runs there): the allow-listed part of
    # this process's environment, never Airflow's secrets, and the TFX environment's own.
    environ = env.environ(node_env.allowed())
    sources = ref.locate()
    key = cache_key(
        cache_name,
        ref,
        kwargs,
        sources.files,
        tfx_envs.installed_digest(env),
        user_code=sources.user_code,
    )
    folder = settings.compiled_dir() / cache_name
    for directory in entries(folder, key):
        try:
            manifest = Manifest.read(directory)
        except ManifestError:
            continue  # compiled anew; the rename below finds it in place and reads it again
        if inputs_unchanged(manifest, environ):
            mark_used(directory)
            if observer is not None:
                observer.requests.append(
                    replace(request, directory=directory, seconds=time.monotonic() - started)
                )
            return CompiledPipeline(directory, manifest.graph)
    if observer is not None and observer.defer_misses:
        observer.requests.append(request)
        return CompiledPipeline(folder / DEFERRED, PipelineGraph(cache_name, nodes=()))
    # Through the module, so that ``tfx-dags check``'s import check can turn compiles off.
    directory = compile_process.compile_into(
        folder,
        key,
        ref=ref,
        kwargs=kwargs,
        source=sources.source,
        env=env,
        environ=environ,
        user_code=sources.user_code,
    )
    compiled = CompiledPipeline(directory, Manifest.read(directory).graph)
    mark_used(directory)
    if observer is not None:
        observer.requests.append(
            replace(request, directory=directory, compiled=True, seconds=time.monotonic() - started)
        )
    return compiled
