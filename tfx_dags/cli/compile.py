"""``tfx-dags compile``: every pipeline of a DAG folder compiled ahead of time, side by side,
so that a deployment image or a CI step ships a warm cache and the DAG processor never
compiles; ``--prune`` then removes compiled pipelines that nothing uses any more."""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tfx_dags.airflow import compile_cache, compile_entries
from tfx_dags.airflow.compile_observer import CompileRequest
from tfx_dags.cli.dag_folder import CliError, ParsedFolder, parse
from tfx_dags.common import settings
from tfx_dags.common.errors import TfxDagsError


@dataclass(frozen=True)
class CompileResult:
    pipeline: str  # the compile cache's folder: the DAG id (or a runner file's)
    reference: str
    status: str  # "compiled", "cache hit" or "failed"
    seconds: float
    entry: str  # the compiled folder, or the reason of a failure

    def row(self) -> dict[str, Any]:
        return {
            "pipeline": self.pipeline,
            "status": self.status,
            "seconds": round(self.seconds, 2),
            "entry": self.entry,
            "reference": self.reference,
        }


def compile_folder(folder: Path | None, *, jobs: int) -> tuple[ParsedFolder, list[CompileResult]]:
    """Parse the folder collecting its pipelines, compile the missing ones ``jobs`` at a
    time, and parse it again as the DAG processor will (every pipeline a cache hit)."""
    collected = parse(folder, defer_compiles=True)
    missing = _unique(request for request in collected.compiles if request.directory is None)
    compiled: dict[str, CompileResult] = {}
    if missing:
        # Progress on stderr, as Airflow's CLI reports long steps; the table comes at the end.
        print(f"compiling {len(missing)} pipelines, {jobs} at a time", file=sys.stderr)
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = {pool.submit(_compile, request): _identity(request) for request in missing}
        for future in as_completed(futures):
            result = compiled[futures[future]] = future.result()
            print(
                f"  {result.pipeline}: {result.status} in {result.seconds:.1f} s", file=sys.stderr
            )
    final = parse(collected.folder)
    rows = []
    for request in _unique(final.compiles):
        earlier = compiled.pop(_identity(request), None)
        if earlier is not None and earlier.status == "compiled":
            rows.append(earlier)
            continue
        status = "compiled" if request.compiled else "cache hit"
        entry = str(request.directory)
        rows.append(
            CompileResult(request.cache_name, str(request.ref), status, request.seconds, entry)
        )
    # Failures: their DAG files are import errors of the final parse too.
    rows += [result for result in compiled.values() if result.status == "failed"]
    return final, sorted(rows, key=lambda row: (row.pipeline, row.reference))


def _compile(request: CompileRequest) -> CompileResult:
    started = time.monotonic()
    try:
        compiled = compile_cache.ensure_compiled(
            cache_name=request.cache_name,
            ref=request.ref,
            kwargs=request.kwargs,
            tfx_env=request.tfx_env,
        )
    except (TfxDagsError, OSError) as error:
        return CompileResult(
            request.cache_name, str(request.ref), "failed", time.monotonic() - started, str(error)
        )
    return CompileResult(
        request.cache_name,
        str(request.ref),
        "compiled",
        time.monotonic() - started,
        str(compiled.directory),
    )


def _identity(request: CompileRequest) -> str:
    return json.dumps(
        [request.cache_name, str(request.ref), request.kwargs, request.tfx_env],
        sort_keys=True,
        default=str,
    )


def _unique(requests: Iterable[CompileRequest]) -> list[CompileRequest]:
    seen: dict[str, CompileRequest] = {}
    for request in requests:
        seen.setdefault(_identity(request), request)
    return list(seen.values())


@dataclass(frozen=True)
class Pruned:
    entry: str
    reason: str


def prune(folder: ParsedFolder, *, dry_run: bool = False) -> tuple[list[Pruned], list[Pruned]]:
    """Remove compiled pipelines of ``folder``'s pipelines that neither its DAGs (parsed
    just now) nor a queued or running DAG run uses; refused when a DAG file does not load.
    A run's tasks stamp the entry they use when they start, so an entry used since the
    oldest active run began is kept. Returns (removed, kept)."""
    if folder.import_errors:
        raise CliError(
            f"{len(folder.import_errors)} DAG files of {folder.folder} do not load: their "
            "pipelines' compiled entries cannot be told from unused ones; nothing pruned"
        )
    current = {request.directory for request in folder.compiles if request.directory}
    # Only this folder's pipelines: other homes and DAG folders may share the cache folder.
    caches = {request.cache_name for request in folder.compiles}
    active_since = oldest_active_run_start()
    stale_staging = time.time() - 2 * settings.compile_timeout_s()
    removed, kept = [], []
    root = settings.compiled_dir()
    for cache in sorted(root / name for name in caches if (root / name).is_dir()):
        for entry in sorted(cache.iterdir()):
            if not entry.is_dir():
                continue
            if entry.name.startswith(compile_entries.STAGING_PREFIX):
                if compile_entries.last_used(entry) < stale_staging:
                    removed.append(Pruned(str(entry), "an abandoned compile"))
                continue
            if entry in current:
                kept.append(Pruned(str(entry), "a DAG of the folder uses it"))
            elif active_since is not None and compile_entries.last_used(entry) >= active_since:
                kept.append(Pruned(str(entry), "used since the oldest active DAG run began"))
            else:
                removed.append(Pruned(str(entry), "unused"))
    if not dry_run:
        for item in removed:
            shutil.rmtree(item.entry, ignore_errors=True)
        for name in caches:
            try:
                (root / name).rmdir()  # only if empty
            except OSError:
                pass
    return removed, kept


def oldest_active_run_start() -> float | None:
    """When the oldest queued or running DAG run was queued (a timestamp); None if there is
    none. Read from Airflow's database: pruning without it could remove what a run uses."""
    try:
        from airflow.models.dagrun import DagRun
        from airflow.utils.session import create_session
        from airflow.utils.state import DagRunState
        from sqlalchemy import func, select

        with create_session() as session:
            oldest = session.scalar(
                select(func.min(func.coalesce(DagRun.queued_at, DagRun.start_date))).where(
                    DagRun.state.in_([DagRunState.QUEUED, DagRunState.RUNNING])
                )
            )
    except Exception as error:  # noqa: BLE001 - any database failure means: do not prune
        raise CliError(
            f"cannot read the active DAG runs from Airflow's database ({type(error).__name__}:"
            f" {str(error).splitlines()[0] if str(error) else ''}); nothing pruned"
        ) from None
    if oldest is None:
        return None
    if isinstance(oldest, str):  # SQLite returns the text of the timestamp
        oldest = datetime.fromisoformat(oldest)
    if oldest.tzinfo is None:  # Airflow stores UTC
        oldest = oldest.replace(tzinfo=UTC)
    return float(oldest.timestamp())


def default_jobs() -> int:
    """One compile per core: each is a TFX-environment process bound by one core."""
    return max(1, len(os.sched_getaffinity(0)))
