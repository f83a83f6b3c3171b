"""Which ML Metadata store a process uses, and opening it: the layer's only door to a store.

``TFX_DAGS_METADATA_URI`` (set by the operator from the Airflow connection, or by the
deployment) selects MySQL: ``mysql://user:password@host:3306/database``. Without it, the
SQLite file TFX_DAGS_METADATA_SQLITE. The URI holds a password: it is read from the
environment only, and nothing here prints it.

    python -m tfx_dags.mlmd.connection init    # create the schema once, before concurrent runs
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from tfx_dags.common import settings
from tfx_dags.common.contract import STORE_ENV, URI_ENV
from tfx_dags.common.errors import ConfigError, TfxDagsError
from tfx_dags.mlmd.contexts import PIPELINE_CONTEXT

MYSQL_SCHEMES = ("mysql", "mariadb")


def connection_config(*, read_only: bool = False) -> Any:
    """An ml_metadata ConnectionConfig: MySQL from TFX_DAGS_METADATA_URI, else SQLite.
    ``read_only`` (the TFX view): SQLite opened read-only, nothing created on either."""
    from ml_metadata.proto import metadata_store_pb2

    config = metadata_store_pb2.ConnectionConfig()
    uri = os.environ.get(URI_ENV, "").strip()
    if uri:
        parts = urlsplit(uri)
        if parts.scheme.split("+")[0] not in MYSQL_SCHEMES:
            raise ConfigError(
                f"{URI_ENV} has scheme {parts.scheme!r}; ML Metadata servers are reached with "
                "mysql://user:password@host:port/database"
            )
        database = parts.path.lstrip("/")
        if not parts.hostname or not database:
            raise ConfigError(f"{URI_ENV} needs a host and a database (mysql://…@host/db)")
        config.mysql.host = parts.hostname
        config.mysql.port = parts.port or 3306
        config.mysql.database = database
        config.mysql.user = unquote(parts.username or "")
        config.mysql.password = unquote(parts.password or "")
        config.mysql.skip_db_creation = read_only
        return config
    path = settings.metadata_sqlite_path()
    modes = metadata_store_pb2.SqliteMetadataSourceConfig
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    config.sqlite.filename_uri = str(path)
    config.sqlite.connection_mode = modes.READONLY if read_only else modes.READWRITE_OPENCREATE
    return config


def describe() -> str:
    """Where the deployment's ML Metadata lives, without credentials."""
    return describe_config(connection_config(read_only=True))


def describe_config(config: Any) -> str:
    """Where a ConnectionConfig (or an ML Metadata server's client config) leads, without
    credentials."""
    if not hasattr(config, "mysql"):  # MetadataStoreClientConfig: an ML Metadata server
        return f"ML Metadata server {config.host}:{config.port}"
    if config.HasField("mysql"):
        return f"MySQL {config.mysql.host}:{config.mysql.port}/{config.mysql.database}"
    if config.HasField("sqlite"):
        return f"SQLite {config.sqlite.filename_uri}"
    return "a connection of kind " + str(config.WhichOneof("config"))


def store_uri(config: Any) -> str:
    """Where a store is, as a URI without credentials: what its artifact ids are ids in."""
    if not hasattr(config, "mysql"):  # MetadataStoreClientConfig: an ML Metadata server
        return f"mlmd://{config.host}:{config.port}"
    if config.HasField("mysql"):
        return f"mysql://{config.mysql.host}:{config.mysql.port}/{config.mysql.database}"
    if config.HasField("sqlite"):
        return f"sqlite://{config.sqlite.filename_uri}"
    return "mlmd://unknown"


def own_connection_config(deployment: Any) -> Any:
    """The pipeline's own metadata_connection_config from its IR's deployment config: a
    database ConnectionConfig or an ML Metadata server's client config; None if it has none."""
    own = deployment.metadata_connection_config
    which = own.WhichOneof("connection_config")
    return getattr(own, which) if which else None


def node_connection_config(pipeline: Any) -> tuple[Any, str]:
    """The store a node of this compiled pipeline uses, and why, for its task log.

    The pipeline's own ``metadata_connection_config`` when it declares one (a pipeline
    written for TFX's runners keeps its store, its history of blessed models and its cache),
    unless the DAG asks for the deployment's store (STORE_ENV=deployment); else the
    deployment's (the Airflow connection, TFX_DAGS_METADATA_URI, or SQLite)."""
    from tfx.orchestration.local import runner_utils

    own = own_connection_config(runner_utils.extract_local_deployment_config(pipeline))
    if own is not None:
        if os.environ.get(STORE_ENV) != "deployment":
            return own, f"{describe_config(own)} (the pipeline's metadata_connection_config)"
        where = "the deployment's; the pipeline's own is set aside (metadata_store='deployment')"
    else:
        where = "the deployment's"
    config = connection_config()
    return config, f"{describe_config(config)} ({where})"


@contextmanager
def schema_refusal_explained(config: Any) -> Iterator[None]:
    """Opening a store inside: ML Metadata's refusal of a store of another schema version
    (a RuntimeError) becomes StoreSchemaMismatch, saying what a deployment of several TFX
    lines should do; any other error passes as it is."""
    from tfx_dags.mlmd.tfx_lines import explain_schema_error

    try:
        yield
    except RuntimeError as error:
        mismatch = explain_schema_error(error, describe_config(config))
        if mismatch is None:
            raise
        raise mismatch from None


def open_store(config: Any) -> Any:
    """An ml_metadata MetadataStore on a ConnectionConfig (or a server's client config).
    A store of another schema version is refused (never migrated), with what to do."""
    from ml_metadata import metadata_store

    with schema_refusal_explained(config):
        return metadata_store.MetadataStore(config)


class StoreMissing(TfxDagsError):
    """A read-only reader found no ML Metadata store (SQLite file) yet."""


def open_read_only(config: Any = None) -> Any:
    """A store for readers (the query command, the TFX view): the deployment's, or
    ``config`` (a pipeline's own, ``pipeline_store_config``); SQLite opened read-only,
    nothing created on MySQL; StoreMissing if there is no SQLite file yet."""
    config = connection_config(read_only=True) if config is None else read_only(config)
    return open_existing(config)


def open_existing(config: Any) -> Any:
    """``open_store`` on a store that exists already: StoreMissing if there is no SQLite file
    yet (nothing is created for a caller that has nothing to read or change there)."""
    if hasattr(config, "mysql") and config.HasField("sqlite"):
        if not Path(config.sqlite.filename_uri).exists():
            raise StoreMissing(f"no ML Metadata store at {config.sqlite.filename_uri} yet")
    return open_store(config)


def read_only(config: Any) -> Any:
    """A copy of a ConnectionConfig that only reads: SQLite opened read-only, no database
    created on MySQL. An ML Metadata server's client config is returned as it is."""
    from ml_metadata.proto import metadata_store_pb2

    if not hasattr(config, "mysql"):
        return config
    copy = metadata_store_pb2.ConnectionConfig()
    copy.CopyFrom(config)
    if copy.HasField("sqlite"):
        copy.sqlite.connection_mode = metadata_store_pb2.SqliteMetadataSourceConfig.READONLY
    elif copy.HasField("mysql"):
        copy.mysql.skip_db_creation = True
    return copy


def pipeline_store_config(pipeline_ir: Path) -> Any:
    """The ``metadata_connection_config`` a compiled pipeline (its IR file) declares, with
    its credentials as the user wrote them; None if it declares none."""
    from tfx.orchestration.local import runner_utils
    from tfx.proto.orchestration import pipeline_pb2

    pipeline = pipeline_pb2.Pipeline()
    pipeline.ParseFromString(pipeline_ir.read_bytes())
    return own_connection_config(runner_utils.extract_local_deployment_config(pipeline))


class PipelineStores:
    """Which store holds a pipeline's runs (``of_pipeline``), each store opened once by
    ``opener`` (given a config, or None for the deployment's: ``open_read_only`` or a reader's
    own) however many pipelines are asked about. The TFX view and the query command both
    read a pipeline through it."""

    def __init__(self, opener: Callable[[Any], Any] = open_read_only) -> None:
        self._opener = opener
        self._deployment: Any = None
        self._deployment_missing: StoreMissing | None = None
        self._own: dict[str, Any] = {}

    def deployment(self) -> Any:
        """The deployment's store; StoreMissing where it has no SQLite file yet."""
        if self._deployment is None and self._deployment_missing is None:
            try:
                self._deployment = self._opener(None)
            except StoreMissing as missing:
                self._deployment_missing = missing
        if self._deployment_missing is not None:
            raise self._deployment_missing
        return self._deployment

    def own(self, config: Any) -> Any:
        """A pipeline's own store (several pipelines may keep one); StoreMissing as above."""
        where = describe_config(config)
        if where not in self._own:
            self._own[where] = self._opener(config)
        return self._own[where]

    def of_pipeline(self, name: str, own: Any) -> Any:
        """The store that holds the runs of pipeline ``name``: the deployment's where the
        pipeline has run with it (every pipeline without a store of its own, ``own`` None,
        and one whose DAG sets its own aside: ``metadata_store="deployment"``), else its own
        (``own``, the store its compiled IR declares: a TFX runner's file keeps its own).
        StoreMissing where the store chosen has no SQLite file yet."""
        try:
            deployment = self.deployment()
        except StoreMissing:
            if own is None:
                raise
        else:
            if own is None or deployment.get_context_by_type_and_name(PIPELINE_CONTEXT, name):
                return deployment
        return self.own(own)


def open_pipeline_store(
    name: str,
    pipeline_ir: Path | None = None,
    *,
    opener: Callable[[Any], Any] = open_read_only,
) -> Any:
    """The store that holds the runs of pipeline ``name`` (``PipelineStores.of_pipeline``),
    opened read-only by ``opener``; ``pipeline_ir``: its compiled IR, which declares its own
    store if it has one."""
    own = pipeline_store_config(pipeline_ir) if pipeline_ir is not None else None
    return PipelineStores(opener).of_pipeline(name, own)


@contextmanager
def held_open(config: Any) -> Iterator[Any]:
    """TFX's ``Metadata`` connection on ``config``, its store opened once for everything a
    node does: TFX's own ``Metadata`` opens a new store on every ``with`` (its launcher
    enters it for the driver, the execution's registration and the publish), each a new
    MySQL connection."""
    connection = _metadata_held_open()(config)
    with connection:
        yield connection


@functools.cache
def _metadata_held_open() -> type:
    from tfx.orchestration import metadata

    class MetadataHeldOpen(metadata.Metadata):
        """A nested ``with`` reuses the open store (TFX 1.15's ``_store``/``_users``)."""

        def __enter__(self) -> MetadataHeldOpen:
            if self._store is None:
                with schema_refusal_explained(self._connection_config):
                    return super().__enter__()
            self._users += 1
            return self

    return MetadataHeldOpen


def init_schema() -> None:
    """Connect once, which creates or upgrades the schema: done before concurrent runs, since
    two nodes creating it at the same moment race."""
    open_store(connection_config())


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args != ["init"]:
        print("usage: python -m tfx_dags.mlmd.connection init", file=sys.stderr)
        return 2
    try:
        init_schema()
    except TfxDagsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"ML Metadata schema ready: {describe()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
