"""The version of tfx_dags' own TFX-side code, as a content digest, computed once per process.

Two things depend on it: a compiled pipeline (``airflow/compile_key.py``: the compile step
and the helpers a pipeline definition calls shape the IR) and the warm node server
(``node_server/client.py``: a server runs the code it imported when it started). Each names
the folders that can change what it depends on; code of the Airflow side (``airflow/``,
``cli/``, ``ui/``, ``dev/``) changes neither, so editing it recompiles nothing and keeps the
server.

Once per process: a parse that builds several DAGs, or a task that starts several
processes, hashes the files once. A long-lived process (the api-server) sees an edit of
these folders when it restarts, as it sees an edit of its own code.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[1]
# What the compile process imports of tfx_dags (compiler/, the user code it loads through
# tfx_process/, mlmd.connection) and what a pipeline definition may call (authoring/,
# settings): the package's top-level modules too (``import tfx_dags``). The folders split out
# of the one former runner/ (runner/, queries/, server/) count as they did there.
COMPILE_FOLDERS = (
    "common",
    "compiler",
    "tfx_process",
    "runner",
    "queries",
    "server",
    "mlmd",
    "authoring",
)
# What the node server has imported before it forks a node, a compile or a query: the
# compile's code and the server's wire protocol.
NODE_SERVER_FOLDERS = (*COMPILE_FOLDERS, "node_server")


@cache
def code_version(folders: tuple[str, ...] = COMPILE_FOLDERS) -> str:
    """A sha256 of the ``.py`` files of these folders of the package (and of its top-level
    modules), by their path inside the package and their content."""
    digest = hashlib.sha256()
    files = sorted(PACKAGE_DIR.glob("*.py"))
    for folder in sorted(folders):
        files += sorted((PACKAGE_DIR / folder).rglob("*.py"))
    for path in files:
        if "__pycache__" in path.parts:
            continue
        digest.update(path.relative_to(PACKAGE_DIR).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()
