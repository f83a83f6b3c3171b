"""The compiled-pipeline cache: pipeline IR and manifest, rebuilt when the sources change.

DAG files run in the scheduler's environment, which holds no TFX. The compile step therefore
runs as a subprocess of the TFX environment's interpreter, and its result is cached under a
key made of everything that can change it: the pipeline reference and arguments, the source
files of the pipeline's package (and the folder it is found in, for one beside the DAG files:
``user_code_path``), tfx_dags' own code, and the TFX environment it compiles in:
its name and the versions of TFX, TensorFlow, Beam and their kin installed there
(``tfx_dags.common.tfx_envs``). Files the compile step
finds on the way (``module_file=`` folders) are listed with their digests in the manifest,
and so are the environment variables the user's files read ($HOME in TFX's examples): an
entry whose listed files or variables changed (or whose user-code wheels are gone) is
compiled anew. A parse with a warm cache hashes a few files and reads one JSON file.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import sys
import sysconfig
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from tfx_dags.airflow import node_env
from tfx_dags.common import settings, tfx_envs
from tfx_dags.common.errors import ManifestError, PipelineCompileError
from tfx_dags.common.graph import (
    MANIFEST_FORMAT,
    PipelineGraph,
    environment_digest,
    graph_from_manifest,
)
from tfx_dags.common.pipeline_ref import PipelineRef
from tfx_dags.common.reply import NoReply
from tfx_dags.node_server import client as node_client

PACKAGE_DIR = Path(__file__).resolve().parents[1]
IR_FILE = "pipeline_ir.pb"
MANIFEST_FILE = "manifest.json"
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
        return self.directory / IR_FILE


def pipeline_source(ref: PipelineRef) -> Path:
    """The file that defines the pipeline function, found without importing it."""
    if ref.is_file:
        path = Path(ref.module)
        if not path.is_file():
            raise PipelineCompileError(f"pipeline file {path} does not exist")
        return path
    try:
        spec = importlib.util.find_spec(ref.module)
    except (ImportError, ValueError) as error:
        raise PipelineCompileError(f"cannot locate module {ref.module!r}: {error}") from None
    if spec is None or not spec.origin or not Path(spec.origin).is_file():
        raise PipelineCompileError(
            f"module {ref.module!r} not found; is its package installed or on sys.path?"
        )
    return Path(spec.origin)


def source_files(ref: PipelineRef, source: Path) -> list[Path]:
    """Files whose change may change the pipeline: its whole top-level package (or folder)."""
    if ref.is_file:
        top = source.parent
    else:
        package = importlib.util.find_spec(ref.module.partition(".")[0])
        locations = list(package.submodule_search_locations or []) if package else []
        if not locations:  # a top-level module rather than a package
            return [source]
        top = Path(locations[0])
    return [path for path in sorted(top.rglob("*.py")) if "__pycache__" not in path.parts]


def user_code_path(ref: PipelineRef) -> Path | None:
    """The folder on this process's ``sys.path`` that a dotted reference's top-level package
    (or module) is imported from, when it is the user's own code rather than an installed
    distribution: Airflow puts the DAG folder there, so a team keeps its pipeline packages
    beside its DAG files; PYTHONPATH and ``.pth`` files add others. The compile and every
    node put it first on their path (the manifest's ``python_path``), so that the TFX
    environment needs nothing installed or set for it. None for a file reference (the
    compile takes the file's folder), for an installed package, and for tfx_dags itself."""
    top = ref.module.partition(".")[0]
    if ref.is_file or top == "tfx_dags":
        return None
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return None
    locations = list(spec.submodule_search_locations or []) if spec else []
    location = locations[0] if locations else spec.origin if spec else None
    if not location or not Path(location).exists():
        return None
    folder = Path(os.path.abspath(location)).parent
    installed = {Path(sysconfig.get_paths()[key]).resolve() for key in ("purelib", "platlib")}
    on_path = {Path(os.path.abspath(entry or os.curdir)).resolve() for entry in sys.path}
    resolved = folder.resolve()
    if resolved in installed or resolved not in on_path:
        return None  # installed, or found by an import hook (an editable install's finder)
    return folder


def cache_key(
    cache_name: str,
    ref: PipelineRef,
    kwargs: Mapping[str, Any],
    files: Iterable[Path],
    tfx_env_digest: str,
    *,
    user_code: Path | None = None,
) -> str:
    """``tfx_env_digest``: ``tfx_envs.installed_digest`` of the environment that compiles;
    ``user_code``: the reference's ``user_code_path``, which the compiled pipeline records."""
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
    }
    if user_code is not None:
        header["user_code"] = str(user_code)
    digest.update(json.dumps(header, sort_keys=True).encode())
    # This package's own code: the compile step and the pipeline helpers a definition calls
    # (tfx_dags.authoring.pipelines, .trainers) shape the IR too.
    package_files = sorted(PACKAGE_DIR.rglob("*.py"))
    for path in [*files, *package_files]:
        digest.update(str(path).encode())
        digest.update(path.read_bytes() if path.is_file() else b"<missing>")
    return digest.hexdigest()[:20]


@dataclass(frozen=True)
class CompileRequest:
    """One ``ensure_compiled`` call a DAG file made, as ``observe`` records it."""

    cache_name: str
    ref: PipelineRef
    kwargs: Mapping[str, Any]
    tfx_env: str | None = None
    # The entry it resolved to (None: deferred, or it failed), compiled now or a cache hit.
    directory: Path | None = None
    compiled: bool = False
    seconds: float = 0.0


@dataclass
class _Observer:
    defer_misses: bool
    requests: list[CompileRequest] = field(default_factory=list)


_observer: ContextVar[_Observer | None] = ContextVar("tfx_dags_compile_observer", default=None)


@contextmanager
def observe(*, defer_misses: bool = False) -> Iterator[list[CompileRequest]]:
    """Record every ``ensure_compiled`` call made inside (``tfx-dags compile`` parses a DAG
    folder under it). ``defer_misses``: a miss is recorded and answered with an empty
    stand-in graph instead of compiling, so one parse collects every pipeline of a folder,
    to compile them side by side afterwards."""
    observer = _Observer(defer_misses)
    token = _observer.set(observer)
    try:
        yield observer.requests
    finally:
        _observer.reset(token)


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
    observer = _observer.get()
    request = CompileRequest(cache_name, ref, dict(kwargs), tfx_env)
    env = tfx_envs.resolve(tfx_env)
    # What the compile sees (the user's pipeline file runs there): the allow-listed part of
    # this process's environment, never Airflow's secrets, and the TFX environment's own.
    environ = env.environ(node_env.allowed())
    source = pipeline_source(ref)
    user_code = user_code_path(ref)
    key = cache_key(
        cache_name,
        ref,
        kwargs,
        source_files(ref, source),
        tfx_envs.installed_digest(env),
        user_code=user_code,
    )
    folder = settings.compiled_dir() / cache_name
    for directory in _entries(folder, key):
        manifest = _read_manifest(directory)
        if manifest is not None and inputs_unchanged(manifest, environ):
            _mark_used(directory)
            if observer is not None:
                observer.requests.append(
                    replace(request, directory=directory, seconds=time.monotonic() - started)
                )
            return CompiledPipeline(directory, graph_from_manifest(manifest))
    if observer is not None and observer.defer_misses:
        observer.requests.append(request)
        return CompiledPipeline(folder / DEFERRED, PipelineGraph(cache_name, nodes=()))
    directory = _compile_into(
        folder,
        key,
        ref=ref,
        kwargs=kwargs,
        source=source,
        env=env,
        environ=environ,
        user_code=user_code,
    )
    compiled = CompiledPipeline(directory, load_graph(directory))
    _mark_used(directory)
    if observer is not None:
        observer.requests.append(
            replace(request, directory=directory, compiled=True, seconds=time.monotonic() - started)
        )
    return compiled


def _mark_used(directory: Path) -> None:
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


def current_entries() -> dict[str, CompiledPipeline]:
    """The compiled pipeline each pipeline name (= DAG id) runs with now, for readers that
    know a DAG by its id only (the TFX view, which needs its pipeline root and ML Metadata
    store): in each cache folder the entry used last (every parse stamps the one it uses);
    where two folders compile one name (a DAG moved from ``pipeline_dag`` to its TFX runner
    file), the one used last. Unreadable manifests are passed over."""
    found: dict[str, tuple[float, CompiledPipeline]] = {}
    cache = settings.compiled_dir()
    folders = [folder for folder in cache.iterdir() if folder.is_dir()] if cache.is_dir() else []
    for folder in folders:
        # Deferred stand-ins and compiles in progress (".deferred", ".compiling-…") are not
        # entries.
        entries = [
            entry
            for entry in folder.iterdir()
            if not entry.name.startswith(".") and (entry / MANIFEST_FILE).is_file()
        ]
        if not entries:
            continue
        newest = max(entries, key=last_used)
        try:
            graph = load_graph(newest)
        except ManifestError:
            continue
        used = last_used(newest)
        earlier = found.get(graph.pipeline_name)
        if earlier is None or used > earlier[0]:
            found[graph.pipeline_name] = (used, CompiledPipeline(newest, graph))
    return {name: compiled for name, (_, compiled) in found.items()}


def _entries(folder: Path, key: str) -> list[Path]:
    """Compiled entries of this key: ``KEY``, or ``KEY-<inputs digest>`` when the compile
    found files outside the key; newest first."""
    entries = [folder / key, *folder.glob(f"{key}-*")] if folder.is_dir() else []
    existing = [entry for entry in entries if (entry / MANIFEST_FILE).is_file()]
    return sorted(existing, key=lambda entry: entry.stat().st_mtime, reverse=True)


def _read_manifest(directory: Path) -> dict[str, Any] | None:
    try:
        return dict(json.loads((directory / MANIFEST_FILE).read_text()))
    except (OSError, ValueError):
        return None


def inputs_unchanged(manifest: Mapping[str, Any], environ: Mapping[str, str]) -> bool:
    """Every file the compile listed (module files' folders) is as it was, every environment
    variable the user's files read has the value it had (in ``environ``, the environment a
    compile gets now), and every user-code wheel it built is still there (a cleaned pipeline
    root is built again)."""
    for name, digest in dict(manifest.get("environment") or {}).items():
        if environment_digest(environ.get(name)) != digest:
            return False
    for path, digest in dict(manifest.get("inputs") or {}).items():
        try:
            if hashlib.sha256(Path(path).read_bytes()).hexdigest() != digest:
                return False
        except OSError:
            return False
    wheels = [wheel for wheel in manifest.get("wheels") or () if "://" not in wheel]
    return all(Path(wheel).is_file() for wheel in wheels)


def load_graph(directory: Path) -> PipelineGraph:
    try:
        manifest = json.loads((directory / MANIFEST_FILE).read_text())
    except (OSError, ValueError) as error:
        raise ManifestError(f"cannot read {directory / MANIFEST_FILE}: {error}") from None
    return graph_from_manifest(manifest)


def _compile_into(
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
        "tfx_dags.runner.compile",
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
        directory = folder / _entry_name(key, _read_manifest(staging) or {})
        # Made before the rename, so that later stamps never change the folder's own mtime
        # (``_entries`` orders by it).
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


def _entry_name(key: str, manifest: Mapping[str, Any]) -> str:
    found = {name: manifest.get(name) for name in ("inputs", "environment") if manifest.get(name)}
    if not found:
        return key
    digest = hashlib.sha256(json.dumps(found, sort_keys=True).encode()).hexdigest()
    return f"{key}-{digest[:12]}"


def _failure(command: list[str], environ: Mapping[str, str], timeout: float) -> str | None:
    """Run the compile (``node_client.call``); None when it compiled, else its reply's
    one-line reason, or how it ended and the tail of its output when it wrote no reply."""
    try:
        _, reply = node_client.call(command, env=environ, timeout=timeout)
    except NoReply as error:
        return str(error)
    return None if reply.ok else reply.message
