"""The compile cache's key: everything known before a compile that can change its result."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from tfx_dags.common import settings
from tfx_dags.common.code_version import COMPILE_FOLDERS, code_version
from tfx_dags.common.manifest import MANIFEST_FORMAT
from tfx_dags.common.pipeline_ref import PipelineRef


def cache_key(
    cache_name: str,
    ref: PipelineRef,
    kwargs: Mapping[str, Any],
    files: Iterable[Path],
    tfx_env_digest: str,
    *,
    user_code: Path | None = None,
) -> str:
    """``files`` and ``user_code``: what the reference's ``locate`` found (the compiled
    pipeline records the user-code folder); ``tfx_env_digest``: ``tfx_envs.installed_digest``
    of the environment that compiles."""
    digest = hashlib.sha256()
    header = {
        "format": MANIFEST_FORMAT,
        "dag_id": cache_name,
        "pipeline": str(ref),
        "kwargs": kwargs,
        # Settings the compile step reads from the environment.
        "beam_direct_mode": settings.beam_direct_mode(),
        # What the TFX environment has installed, not a lock file of this repository: a
        # team's own image of a TFX line compiles anew when its versions change.
        "tfx_env": tfx_env_digest,
        # This package's own TFX-side code: the compile step and the pipeline helpers a
        # definition calls (tfx_dags.authoring) shape the IR too; the Airflow side's does not.
        "tfx_dags": code_version(COMPILE_FOLDERS),
    }
    if user_code is not None:
        header["user_code"] = str(user_code)
    digest.update(json.dumps(header, sort_keys=True).encode())
    for path in files:
        digest.update(str(path).encode())
        digest.update(path.read_bytes() if path.is_file() else b"<missing>")
    return digest.hexdigest()[:20]
