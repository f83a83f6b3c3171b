"""The package's code version: the TFX-side code only, computed once per process."""

from __future__ import annotations

from pathlib import Path

import pytest

from tfx_dags.common import code_version as versions


def test_only_the_named_folders_count(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for folder in ("runner", "ui"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "a.py").write_text("x = 1\n")
    monkeypatch.setattr(versions, "PACKAGE_DIR", tmp_path)
    versions.code_version.cache_clear()
    try:
        before = versions.code_version(("runner",))
        (tmp_path / "ui" / "a.py").write_text("x = 2\n")
        versions.code_version.cache_clear()
        assert versions.code_version(("runner",)) == before
        (tmp_path / "runner" / "a.py").write_text("x = 2\n")
        assert versions.code_version(("runner",)) == before  # once per process
        versions.code_version.cache_clear()
        assert versions.code_version(("runner",)) != before
    finally:
        versions.code_version.cache_clear()


def test_the_node_server_counts_what_the_compile_counts() -> None:
    assert set(versions.COMPILE_FOLDERS) < set(versions.NODE_SERVER_FOLDERS)
    assert not {"airflow", "cli", "ui", "dev"} & set(versions.NODE_SERVER_FOLDERS)
