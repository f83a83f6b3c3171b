"""What the ``tfx-dags`` CLI learns of the compiles a DAG folder's parse asks for.

``observe`` records every ``compile_cache.ensure_compiled`` call made inside it, and can put
off the compiles of a parse (``defer_misses``) so that the CLI runs them side by side.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tfx_dags.common.pipeline_ref import PipelineRef


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
class Observer:
    defer_misses: bool
    requests: list[CompileRequest] = field(default_factory=list)


_observer: ContextVar[Observer | None] = ContextVar("tfx_dags_compile_observer", default=None)


def current() -> Observer | None:
    """The innermost ``observe`` this call runs under; None outside any."""
    return _observer.get()


@contextmanager
def observe(*, defer_misses: bool = False) -> Iterator[list[CompileRequest]]:
    """Record every ``ensure_compiled`` call made inside (``tfx-dags compile`` parses a DAG
    folder under it). ``defer_misses``: a miss is recorded and answered with an empty
    stand-in graph instead of compiling, so one parse collects every pipeline of a folder,
    to compile them side by side afterwards."""
    observer = Observer(defer_misses)
    token = _observer.set(observer)
    try:
        yield observer.requests
    finally:
        _observer.reset(token)
