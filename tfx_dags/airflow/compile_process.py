"""The compile step, run in the TFX environment (``python -m tfx_dags.compiler.compile``)
into a staging folder that is renamed into the cache, so a concurrent parse sees a complete
entry or none."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tfx_dags.airflow.compile_entries import LAST_USED_FILE, STAGING_PREFIX, entry_name
from tfx_dags.common import settings, tfx_envs
from tfx_dags.common.errors import PipelineCompileError
from tfx_dags.common.manifest import MANIFEST_FILE, Manifest
from tfx_dags.common.pipeline_ref import PipelineRef
from tfx_dags.common.reply import NoReply
from tfx_dags.node_server import client as node_client


def compile_into(
    folder: Path,
    key: str,
    *,
    ref: PipelineRef,
    kwargs: Mapping[str, Any],
    source: Path,
    env: tfx_envs.TfxEnv,
    environ: Mapping[str, str],
    user_code: Path | None,
) -> Path:
    """Compile into a new entry of ``folder`` for ``key``; its directory."""
    python = env.python
    if not python.exists():
        raise PipelineCompileError(
            f"the interpreter {python} of TFX environment {env.name!r} does not exist; run "
            "`make setup` or fix TFX_DAGS_TFX_ENVS / TFX_DAGS_TFX_PYTHON"
        )
    folder.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=folder))
    command = [
        str(python),
        "-m",
        "tfx_dags.compiler.compile",
        "--pipeline",
        str(ref),
        "--kwargs-json",
        json.dumps(kwargs, sort_keys=True),
        "--output-dir",
        str(staging),
    ]
    if user_code is not None:
        command += ["--python-path", str(user_code)]
    timeout = settings.compile_timeout_s()
    try:
        # Through the node server when it is on: TFX's imports are then paid once per
        # machine, not per compile (a cold dags/penguin.py compiles four pipelines).
        failure = _failure(command, environ, timeout)
        if failure is not None:
            raise PipelineCompileError(
                f"cannot compile pipeline {ref} (defined in {source}): {failure}"
            )
        directory = folder / entry_name(key, Manifest.read(staging))
        # Made before the rename, so that later stamps never change the folder's own mtime
        # (``compile_entries.entries`` orders by it).
        (staging / LAST_USED_FILE).touch()
        # Rename is atomic: a concurrent parse sees either no entry or a complete one.
        try:
            os.rename(staging, directory)
        except OSError:
            if not (directory / MANIFEST_FILE).is_file():
                raise
        return directory
    except TimeoutError:
        raise PipelineCompileError(
            f"compiling pipeline {ref} (defined in {source}) took longer than {timeout:g} s "
            "(TFX_DAGS_COMPILE_TIMEOUT)"
        ) from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _failure(command: list[str], environ: Mapping[str, str], timeout: float) -> str | None:
    """Run the compile (``node_client.call``); None when it compiled, else its reply's
    one-line reason, or how it ended and the tail of its output when it wrote no reply."""
    try:
        _, reply = node_client.call(command, env=environ, timeout=timeout)
    except NoReply as error:
        return str(error)
    return None if reply.ok else reply.message
