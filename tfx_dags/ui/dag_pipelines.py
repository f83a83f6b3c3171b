"""The compiled pipeline each DAG says it runs, read from Airflow's metadata DB (Airflow
side: the api-server, where the TFX view runs).

Every TFX task carries the path of its DAG's compiled ``pipeline_ir.pb``
(``TfxNodeOperator.pipeline_ir``, a template field, so Airflow serializes it with the DAG).
The latest serialized version of each DAG names it; the compile's manifest beside it
(``common/manifest.py``) says the pipeline root and the ML Metadata store of its own that
the pipeline declares. A DAG version is deserialized once per process (kept by its hash):
a page costs one query of the DAGs' hashes, and a file check per TFX DAG.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tfx_dags.airflow.compile_entries import CompiledPipeline
from tfx_dags.common.errors import ManifestError
from tfx_dags.common.manifest import MANIFEST_FILE, Manifest, ir_path

log = logging.getLogger(__name__)

# The TfxNodeOperator template field that holds the compiled IR's path.
IR_FIELD = "pipeline_ir"


@dataclass(frozen=True)
class LatestVersion:
    """One DAG's latest serialized version, as the listing query returns it."""

    row_id: Any
    dag_id: str
    dag_hash: str


def dag_ir(dag: Any) -> str | None:
    """The compiled IR a (deserialized) DAG's TFX tasks run; None for a DAG without any.
    Every task of a DAG the factory made runs the same IR."""
    for task in dag.tasks:
        path = getattr(task, IR_FIELD, None)
        if isinstance(path, str) and path:
            return path
    return None


def compiled_at(path: str) -> CompiledPipeline | None:
    """The compiled entry of an IR path, with its manifest's graph; None where the entry is
    gone (pruned) or its manifest unreadable."""
    directory = Path(path).parent
    if ir_path(directory) != Path(path):
        return None
    try:
        return CompiledPipeline(directory, Manifest.read(directory).graph)
    except ManifestError:
        return None


class DagPipelines:
    """The compiled pipeline of each DAG, by DAG id (= pipeline name), as its latest
    serialized version names it.

    Args:
        database: the SQLAlchemy URI of the Airflow metadata DB to read. Default: this
            process's own (Airflow's configured session: the api-server's).
    """

    def __init__(self, *, database: str | None = None) -> None:
        self._database = database
        self._sessions: Callable[[], Any] | None = None
        # dag id -> (the hash of the version read, its compiled entry or None)
        self._kept: dict[str, tuple[str, CompiledPipeline | None]] = {}
        self._lock = threading.Lock()

    def all(self) -> dict[str, CompiledPipeline]:
        """The compiled pipeline of every DAG that names one whose entry is still there (a
        DAG whose file was removed included: Airflow keeps its serialized versions)."""
        return self._read(None)

    def get(self, dag_id: str) -> CompiledPipeline | None:
        return self._read([dag_id]).get(dag_id)

    def _read(self, dag_ids: Sequence[str] | None) -> dict[str, CompiledPipeline]:
        with self._session() as session:
            versions = latest_versions(session, dag_ids)
            with self._lock:
                unread = [v for v in versions if self._kept.get(v.dag_id, ("",))[0] != v.dag_hash]
            if unread:
                read = read_versions(session, [v.row_id for v in unread])
                with self._lock:
                    self._kept.update(read)
        found = {}
        with self._lock:
            for version in versions:
                dag_hash, compiled = self._kept.get(version.dag_id, ("", None))
                # A pruned entry (the DAG not parsed since): as if the DAG named none.
                if (
                    dag_hash == version.dag_hash
                    and compiled is not None
                    and (compiled.directory / MANIFEST_FILE).is_file()
                ):
                    found[version.dag_id] = compiled
        return found

    def _session(self) -> AbstractContextManager[Any]:
        if self._database is None:
            from airflow.utils.session import create_session

            return create_session()
        if self._sessions is None:
            from sqlalchemy import create_engine
            from sqlalchemy.orm import sessionmaker

            self._sessions = sessionmaker(bind=create_engine(self._database))
        session: AbstractContextManager[Any] = self._sessions()  # closed on leaving
        return session


def latest_versions(session: Any, dag_ids: Sequence[str] | None) -> list[LatestVersion]:
    """Each DAG's latest serialized version (the highest version number, as Airflow's own
    DB DAG bag reads it): its row and hash, without its data."""
    from airflow.models.dag_version import DagVersion
    from airflow.models.serialized_dag import SerializedDagModel as Serialized
    from sqlalchemy import and_, func, select

    numbers = select(DagVersion.dag_id, func.max(DagVersion.version_number).label("number")).join(
        Serialized, Serialized.dag_version_id == DagVersion.id
    )
    if dag_ids is not None:
        numbers = numbers.where(DagVersion.dag_id.in_(list(dag_ids)))
    latest = numbers.group_by(DagVersion.dag_id).subquery()
    query = (
        select(Serialized.id, Serialized.dag_id, Serialized.dag_hash)
        .join(DagVersion, Serialized.dag_version_id == DagVersion.id)
        .join(
            latest,
            and_(
                DagVersion.dag_id == latest.c.dag_id,
                DagVersion.version_number == latest.c.number,
            ),
        )
    )
    return [LatestVersion(*row) for row in session.execute(query)]


def read_versions(
    session: Any, row_ids: Sequence[Any]
) -> Mapping[str, tuple[str, CompiledPipeline | None]]:
    """The compiled entry each of these serialized DAG rows names, by DAG id, with the
    row's hash. A DAG that does not deserialize here (an operator link or timetable of a
    plugin this process lacks) names none; the others are still read."""
    from airflow.models.serialized_dag import SerializedDagModel as Serialized
    from sqlalchemy import select

    read: dict[str, tuple[str, CompiledPipeline | None]] = {}
    for row in session.scalars(select(Serialized).where(Serialized.id.in_(list(row_ids)))):
        try:
            path = dag_ir(row.dag)
        except Exception as error:  # noqa: BLE001 - one broken DAG never hides the others
            log.warning("DAG %s: its serialized version not read: %s", row.dag_id, error)
            path = None
        read[row.dag_id] = (row.dag_hash, None if path is None else compiled_at(path))
    return read
