"""The manifest type: what the compile writes is what every reader reads, checked whole."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tfx_dags.common.errors import ManifestError
from tfx_dags.common.graph import RuntimeParameter, TfxNode
from tfx_dags.common.manifest import (
    IR_FILE,
    MANIFEST_FILE,
    MANIFEST_FORMAT,
    Manifest,
    environment_digest,
    ir_path,
)

FULL = Manifest(
    pipeline_name="taxi",
    nodes=(
        TfxNode("Trainer", "tfx.Trainer", ("Gen",), is_trainer=True, inputs=(("x", "Gen", "y"),)),
        TfxNode("Gen", "tfx.CsvExampleGen", (), is_beam=True),
        TfxNode("Pusher", "tfx.Pusher", ("Trainer",), push_destination="/serving"),
    ),
    pipeline_root="/root/taxi",
    runtime_parameters=(RuntimeParameter("data_root", "str", "/data"),),
    python_path=("/srv/pipelines",),
    inputs={"/srv/pipelines/utils.py": "ab" * 32},
    wheels=("/root/taxi/_wheels/w.whl",),
    environment={"HOME": environment_digest("/home/me"), "UNSET": None},
    airflow={"schedule_interval": None, "start_date": {"datetime": "2019-01-01T00:00:00"}},
    runner="AirflowDagRunner",
    ignored_settings=("image",),
    working_dir="/srv/pipelines",
    metadata="SQLite /m.db",
)


def test_a_written_manifest_reads_back_equal_with_its_graph_upstream_first(
    tmp_path: Path,
) -> None:
    FULL.write(tmp_path)
    read = Manifest.read(tmp_path)
    assert read == FULL
    assert [node.node_id for node in read.graph.nodes] == ["Gen", "Trainer", "Pusher"]
    assert read.graph.runner == "AirflowDagRunner"
    assert read.graph.ignored_settings == ("image",)
    assert read.graph.metadata == "SQLite /m.db"
    assert ir_path(tmp_path) == tmp_path / IR_FILE


def test_the_json_keeps_the_documented_fields() -> None:
    value = FULL.to_json()
    assert value["format"] == MANIFEST_FORMAT
    assert value["runner"] == {"name": "AirflowDagRunner", "ignored": ["image"]}
    assert value["nodes"][0] == {
        "id": "Trainer",
        "type": "tfx.Trainer",
        "upstream": ["Gen"],
        "is_trainer": True,
        "is_beam": False,
        "push_destination": None,
        "inputs": [{"key": "x", "producer": "Gen", "output_key": "y"}],
    }
    assert sorted(value) == sorted(
        [
            "format", "pipeline_name", "pipeline_root", "execution_mode", "nodes",
            "runtime_parameters", "python_path", "inputs", "wheels", "environment",
            "airflow", "runner", "working_dir", "metadata",
        ]
    )  # fmt: skip
    assert json.loads(json.dumps(value)) == value


def test_a_pipeline_function_has_no_runner() -> None:
    plain = Manifest(pipeline_name="p", nodes=(TfxNode("A", "x", ()),))
    assert plain.to_json()["runner"] is None
    assert Manifest.from_json(plain.to_json()) == plain


def test_the_entry_name_digest_covers_only_what_was_found() -> None:
    plain = Manifest(pipeline_name="p", nodes=(TfxNode("A", "x", ()),))
    assert plain.inputs_digest() is None
    assert (
        FULL.inputs_digest()
        != Manifest.from_json({**FULL.to_json(), "environment": {}}).inputs_digest()
    )


def test_an_unreadable_manifest_is_a_manifest_error(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="cannot read"):
        Manifest.read(tmp_path)
    (tmp_path / MANIFEST_FILE).write_text("{not json")
    with pytest.raises(ManifestError, match="cannot read"):
        Manifest.read(tmp_path)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("python_path", "/srv", "python_path '/srv' is not a list"),
        ("python_path", [1], "python_path .* is not a list of strings"),
        ("wheels", [None], "wheels .* is not a list of strings"),
        ("inputs", {"/a.py": None}, "inputs .* is not an object of strings"),
        ("environment", ["HOME"], "environment .* is not an object of strings"),
        ("working_dir", 3, "working_dir .* is not a string"),
        ("execution_mode", 1, "execution_mode .* is not a string"),
        ("runner", {"name": 1}, "name .* is not a string"),
    ],
)
def test_every_field_is_checked(field: str, value: Any, message: str) -> None:
    with pytest.raises(ManifestError, match=message):
        Manifest.from_json({**FULL.to_json(), field: value})


def test_a_manifest_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(ManifestError, match="is not an object"):
        Manifest.from_json([])
