"""TFX environment, unit tier: a fresh in-memory ML Metadata store per test, filled through
TFX's own helpers (``tfx_records``)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "mlmd"))

import tfx_records


@pytest.fixture
def tfx(tmp_path: Path) -> Iterator[tfx_records.TfxStore]:
    with tfx_records.tfx_store(tmp_path / "root") as filled:
        yield filled


@pytest.fixture
def penguin(tfx: tfx_records.TfxStore) -> tfx_records.TfxStore:
    """``tfx_records.penguin_runs`` written into ``tfx``; its artifacts in ``tfx.made``."""
    tfx.made = tfx_records.penguin_runs(tfx)
    return tfx
