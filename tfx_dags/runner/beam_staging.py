"""The user's dotted-path code as wheels, for a portable runner to stage with the job.

A ``module_file=`` reaches Beam's workers as the wheel TFX built at compile time (its
executors add ``--extra_package``). A dotted path (``preprocessing_fn=
"modules.penguin.preprocessing.preprocessing_fn"``) is only importable where the node runs;
a Flink, Spark or Dataflow worker has the TFX environment, not the user's repository. So
each top-level package that a node's properties name, and that is the user's (neither in
the interpreter's site-packages nor tfx_dags itself), is packed as a pure-Python wheel
under ``<pipeline_root>/_wheels``, named by the digest of its files: the same code is the
same file, written once. Packing is a zip of the folder (no build backend): milliseconds.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import os
import re
import sys
import sysconfig
import tempfile
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from tfx_dags.common.locks import folder_lock
from tfx_dags.tfx_process.user_code import WHEELS_FOLDER, is_remote

DOTTED_PATH = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)+$")
# The library every worker image has (docs/scaling-out.md).
LIBRARY = "tfx_dags"
# A fixed date in every entry: the same files make the same wheel, byte for byte.
ZIP_DATE = (2020, 1, 1, 0, 0, 0)


def user_code_wheels(exec_properties: Mapping[str, Any], pipeline_root: str) -> list[Path]:
    """Wheels of the user packages that the node's dotted-path properties name."""
    folders = {folder for folder in map(user_package, dotted_paths(exec_properties)) if folder}
    # Beam uploads a staged file from where the node runs: a remote root's wheels are built
    # on this machine instead.
    out_dir = (
        Path(tempfile.gettempdir()) / "tfx-dags-user-wheels"
        if is_remote(pipeline_root)
        else Path(pipeline_root) / WHEELS_FOLDER
    )
    return [wheel_of(folder, out_dir) for folder in sorted(folders)]


def dotted_paths(exec_properties: Mapping[str, Any]) -> list[str]:
    """String properties shaped like ``package.module.function`` (``module_path`` values of
    ``module@wheel`` are TFX's wheels already)."""
    return [
        value
        for value in exec_properties.values()
        if isinstance(value, str) and DOTTED_PATH.match(value)
    ]


def user_package(dotted: str) -> Path | None:
    """The folder of the top-level package ``dotted`` starts with, if it is the user's."""
    top = dotted.split(".", 1)[0]
    if top == LIBRARY or top in sys.stdlib_module_names:
        return None
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations or not spec.origin:
        # Not a regular package: a module name that only looks like one (a file name), or a
        # namespace package (any folder without __init__.py, e.g. data/).
        return None
    folder = Path(next(iter(spec.submodule_search_locations))).resolve()
    installed = {
        Path(sysconfig.get_paths()[key]).resolve() for key in ("purelib", "platlib", "stdlib")
    }
    if any(folder.is_relative_to(root) for root in installed):
        return None
    return folder


def wheel_of(package: Path, out_dir: Path) -> Path:
    """A ``py3-none-any`` wheel of ``package`` (every file but caches) in ``out_dir``."""
    files = sorted(
        path
        for path in package.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    )
    digest = hashlib.sha256()
    for path in files:
        digest.update(str(path.relative_to(package.parent)).encode() + b"\0")
        digest.update(path.read_bytes())
    name = f"tfx_dags_user_{package.name}".replace("-", "_")
    version = f"0+{digest.hexdigest()[:16]}"
    wheel = out_dir / f"{name}-{version}-py3-none-any.whl"
    if wheel.exists():
        return wheel
    with folder_lock(out_dir):
        if not wheel.exists():
            partial = wheel.with_suffix(f".{os.getpid()}.tmp")
            _write_wheel(partial, package, files, name, version)
            partial.rename(wheel)
    return wheel


def _write_wheel(path: Path, package: Path, files: Iterable[Path], name: str, version: str) -> None:
    dist_info = f"{name}-{version}.dist-info"
    entries: list[tuple[str, str | bytes]] = [
        (str(file.relative_to(package.parent)), file.read_bytes()) for file in files
    ]
    entries.append(
        (f"{dist_info}/METADATA", f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    )
    entries.append(
        (
            f"{dist_info}/WHEEL",
            "Wheel-Version: 1.0\nGenerator: tfx-dags\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        )
    )
    record = [f"{arcname},{_record_hash(data)},{len(_bytes(data))}" for arcname, data in entries]
    entries.append((f"{dist_info}/RECORD", "\n".join([*record, f"{dist_info}/RECORD,,", ""])))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for arcname, data in entries:
            info = zipfile.ZipInfo(arcname, ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, _bytes(data))


def _bytes(data: str | bytes) -> bytes:
    return data.encode() if isinstance(data, str) else data


def _record_hash(data: str | bytes) -> str:
    raw = hashlib.sha256(_bytes(data)).digest()
    return "sha256=" + base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
