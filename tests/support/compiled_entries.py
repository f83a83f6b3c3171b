"""Compiled entries on disk without a compile, for tests of their readers."""

from __future__ import annotations

from pathlib import Path

from tfx_dags.common.graph import TfxNode
from tfx_dags.common.manifest import IR_FILE, Manifest


def compiled_entry(folder: Path, *, name: str = "own", metadata: str | None = None) -> Path:
    """A compiled entry on disk: its IR (a stand-in) and manifest; the IR's path."""
    folder.mkdir(parents=True)
    manifest = Manifest(
        pipeline_name=name,
        nodes=(TfxNode("A", "x", ()),),
        pipeline_root=str(folder / "root"),
        metadata=metadata,
    )
    manifest.write(folder)
    (folder / IR_FILE).write_bytes(b"")
    return folder / IR_FILE
