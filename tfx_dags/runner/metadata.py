"""The ML Metadata connection every node and query of this process uses, from settings."""

from __future__ import annotations

from typing import Any

from tfx_dags import settings


def connection_config() -> Any:
    """An ml_metadata ConnectionConfig: SQLite at TFX_DAGS_METADATA_SQLITE by default."""
    from tfx.orchestration import metadata

    path = settings.metadata_sqlite_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    return metadata.sqlite_metadata_connection_config(str(path))
