"""Tables, JSON or plain lines, as Airflow's own CLI prints them (``-o table|json|plain``)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

FORMATS = ("table", "json", "plain")
_results: list[TextIO] = []


def claim_stdout() -> None:
    """Keep stdout for the command's results: everything else written to file descriptor 1
    in this process (Airflow's logs among it) goes to stderr, so ``-o json`` parses."""
    if not _results:
        sys.stdout.flush()
        results_fd = os.dup(1)
        os.dup2(2, 1)
        _results.append(os.fdopen(results_fd, "w", buffering=1))


def results() -> TextIO:
    return _results[0] if _results else sys.stdout


def say(*parts: Any) -> None:
    """A line of the command's results."""
    print(*parts, file=results(), flush=True)


def print_rows(
    rows: Sequence[Mapping[str, Any]],
    *,
    output: str,
    columns: Sequence[str] | None = None,
    stream: TextIO | None = None,
) -> None:
    stream = stream or results()
    columns = list(columns or (rows[0].keys() if rows else ()))
    if output == "json":
        print(json.dumps([dict(row) for row in rows], indent=2, default=str), file=stream)
        return
    cells = [[_cell(row.get(column)) for column in columns] for row in rows]
    if output == "plain":
        for line in cells:
            print("\t".join(line), file=stream)
        return
    widths = [
        max([len(column), *(len(line[i]) for line in cells)]) for i, column in enumerate(columns)
    ]
    print(
        " | ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip(), file=stream
    )
    print("=+=".join("=" * w for w in widths), file=stream)
    for line in cells:
        print(
            " | ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip(), file=stream
        )


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.2f}"
    if isinstance(value, list | tuple):
        return ",".join(str(item) for item in value)
    return str(value)
