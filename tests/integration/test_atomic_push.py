"""Pushes are atomic: a version folder appears complete or not at all."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tfx_dags.common import tfx_envs

# No DAG run: part of `make test-fast`.
pytestmark = pytest.mark.quick

CHECK = Path(__file__).resolve().parents[1] / "tfx_env" / "check_atomic_push.py"


@pytest.mark.parametrize("line", ["tfx115", "tfx116"])
def test_a_push_is_complete_or_absent_and_never_overwrites(tmp_path: Path, line: str) -> None:
    env = tfx_envs.resolve(line)
    result = subprocess.run(
        [str(env.python), str(CHECK), str(tmp_path)],
        env=env.environ(os.environ),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout.splitlines()[-1])
    good = report["good"]
    assert good["listing"] == [good["version"]]
    assert good["files"] == ["fingerprint.pb", "saved_model.pb", "variables/variables.index"]
    # A copy that fails half-way leaves neither a version folder nor its staging folder.
    assert "No space left on device" in report["failed"]["raised"]
    assert report["failed"]["copied_before"] == 2
    assert report["failed"]["listing"] == [good["version"]]
    # Two pushes in the same second: two versions, the earlier untouched.
    first, second = report["twice"]["versions"]
    assert int(second) > int(first) >= int(good["version"])
    assert report["twice"]["listing"] == sorted({good["version"], first, second})
