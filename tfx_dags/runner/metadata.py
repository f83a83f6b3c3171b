"""The ML Metadata connection of every node and query in this process, from settings."""

from __future__ import annotations

from typing import Any

from tfx_dags import settings


def connection_config() -> Any:
    """An ml_metadata ConnectionConfig: SQLite at TFX_DAGS_METADATA_SQLITE by default."""
    from ml_metadata.proto import metadata_store_pb2

    path = settings.metadata_sqlite_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    config = metadata_store_pb2.ConnectionConfig()
    config.sqlite.filename_uri = str(path)
    config.sqlite.connection_mode = (
        metadata_store_pb2.SqliteMetadataSourceConfig.READWRITE_OPENCREATE
    )
    return config
