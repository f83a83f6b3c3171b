"""The compile cache's entries on disk: ``TFX_DAGS_COMPILED_DIR/<cache name>/<entry>/``, each
a pipeline IR and its manifest (``common/manifest.py``), found by key, checked against what
the compile found outside its key, and stamped when used."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from tfx_dags.common.graph import PipelineGraph
from tfx_dags.common.manifest import MANIFEST_FILE, Manifest, environment_digest, ir_path

LAST_USED_FILE = "last_used"
# The stand-in folder of a pipeline whose compile ``observe(defer_misses=True)`` put off.
DEFERRED = ".deferred"
# Folders of compiles in progress: ``.compiling-<random>``.
STAGING_PREFIX = ".compiling-"


@dataclass(frozen=True)
class CompiledPipeline:
    directory: Path
    graph: PipelineGraph

    @property
    def ir_path(self) -> Path:
        return ir_path(self.directory)


def entries(folder: Path, key: str) -> list[Path]:
    """Compiled entries of this key: ``KEY``, or ``KEY-<inputs digest>`` when the compile
    found files outside the key; newest first."""
    found = [folder / key, *folder.glob(f"{key}-*")] if folder.is_dir() else []
    existing = [entry for entry in found if (entry / MANIFEST_FILE).is_file()]
    return sorted(existing, key=lambda entry: entry.stat().st_mtime, reverse=True)


def entry_name(key: str, manifest: Manifest) -> str:
    """The entry's folder name: the key, and the digest of what the compile found outside
    it, if anything."""
    digest = manifest.inputs_digest()
    return key if digest is None else f"{key}-{digest[:12]}"


def inputs_unchanged(manifest: Manifest, environ: Mapping[str, str]) -> bool:
    """Every file the compile listed (module files' folders) is as it was, every environment
    variable the user's files read has the value it had (in ``environ``, the environment a
    compile gets now), and every user-code wheel it built is still there (a cleaned pipeline
    root is built again)."""
    for name, digest in manifest.environment.items():
        if environment_digest(environ.get(name)) != digest:
            return False
    for path, digest in manifest.inputs.items():
        try:
            if hashlib.sha256(Path(path).read_bytes()).hexdigest() != digest:
                return False
        except OSError:
            return False
    wheels = [wheel for wheel in manifest.wheels if "://" not in wheel]
    return all(Path(wheel).is_file() for wheel in wheels)


def mark_used(directory: Path) -> None:
    """Stamp the entry as used now: ``tfx-dags compile --prune`` keeps what a running DAG
    run may still use. A read-only cache (a baked image) stays unstamped."""
    try:
        (directory / LAST_USED_FILE).touch()
    except OSError:
        pass


def last_used(directory: Path) -> float:
    """When the entry was last used (or made), as a timestamp."""
    for path in (directory / LAST_USED_FILE, directory):
        try:
            return path.stat().st_mtime
        except OSError:
            continue
    return 0.0
