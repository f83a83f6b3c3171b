"""A Beam-backed node's args settled at launch: the DirectRunner mode by input rows, the
DAG's args after the pipeline's, portable runners' services checked and user code staged."""

from __future__ import annotations

import gzip
import json
import socket
import struct
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tfx_dags.common.errors import ConfigError
from tfx_dags.runner import beam_launch, beam_staging
from tfx_dags.worker_pool import boot

CSV_EXAMPLE_GEN = "tfx.components.example_gen.csv_example_gen.component.CsvExampleGen"


def write_tfrecords(path: Path, records: int, *, gzipped: bool = True) -> None:
    """TFRecord framing: length, its CRC, data, its CRC (the reader skips the CRCs)."""
    data = b"".join(struct.pack("<Q", 5) + b"\0" * 4 + b"hello" + b"\0" * 4 for _ in range(records))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data) if gzipped else data)


def examples(root: Path, train: int, eval_: int) -> str:
    write_tfrecords(root / "Split-train" / "data_tfrecord-00000-of-00001.gz", train)
    write_tfrecords(root / "Split-eval" / "data_tfrecord-00000-of-00001.gz", eval_)
    return str(root)


def mode(args: list[str], **kwargs: object) -> tuple[list[str], str]:
    defaults: dict[str, object] = {"node_type": "X", "inputs": [], "exec_properties": {}}
    return beam_launch.direct_mode(args, **{**defaults, **kwargs})  # type: ignore[arg-type]


def test_the_last_value_of_a_flag_wins_as_in_beams_parser() -> None:
    args = ["--runner=DirectRunner", "--runner", "PortableRunner", "--job_name=a"]
    assert beam_launch.flag(args, "runner") == "PortableRunner"
    assert beam_launch.flag(args, "job_name") == "a"
    assert beam_launch.flag(args, "job_endpoint") is None


def test_examples_rows_are_counted_across_splits_up_to_the_limit(tmp_path: Path) -> None:
    uri = examples(tmp_path / "examples", train=7, eval_=3)
    count = beam_launch.count_input_rows
    assert count(node_type="x", inputs=[uri], exec_properties={}, limit=100) == (
        "input Examples",
        10,
    )
    assert count(node_type="x", inputs=[uri], exec_properties={}, limit=4)[1] == 4
    plain = tmp_path / "plain" / "data.tfrecord"
    write_tfrecords(plain, 6, gzipped=False)
    assert count(node_type="x", inputs=[str(plain.parent)], exec_properties={}, limit=100)[1] == 6


def test_an_example_gen_counts_its_csv_input_without_the_header(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("x,y\n1,2\n3,4\n")
    (tmp_path / "b.csv").write_text("x,y\n5,6\n")
    source, rows = beam_launch.count_input_rows(
        node_type=CSV_EXAMPLE_GEN,
        inputs=[],
        exec_properties={"input_base": str(tmp_path)},
        limit=99,
    )
    assert (source, rows) == (f"input_base {tmp_path}", 3)


def test_small_input_runs_in_memory_and_large_input_a_worker_per_core(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    uri = examples(tmp_path / "examples", train=40, eval_=10)
    monkeypatch.setenv("TFX_DAGS_BEAM_MULTI_PROCESSING_ROWS", "51")
    added, reason = mode(["--runner=DirectRunner"], inputs=[uri])
    assert added == ["--direct_running_mode=in_memory"]
    assert reason == "DirectRunner mode in_memory: 50 input rows (input Examples) < 51"
    monkeypatch.setenv("TFX_DAGS_BEAM_MULTI_PROCESSING_ROWS", "50")
    added, reason = mode([], inputs=[uri])
    assert added == ["--direct_running_mode=multi_processing", "--direct_num_workers=0"]
    assert "input rows (input Examples) reach 50" in reason
    added, _ = mode(["--direct_num_workers=3"], inputs=[uri])
    assert added == ["--direct_running_mode=multi_processing"]


def test_a_mode_the_pipeline_or_dag_sets_is_kept() -> None:
    added, reason = mode(["--direct_running_mode=multi_threading"], inputs=["/nowhere"])
    assert added == []
    assert reason == "DirectRunner mode multi_threading: set by the pipeline or the DAG"


@pytest.mark.parametrize(
    ("inputs", "why"),
    [
        (["gs://bucket/examples/1"], "not on a local filesystem"),
        ([], "no input Examples"),
    ],
)
def test_rows_that_cannot_be_counted_choose_multi_processing(inputs: list[str], why: str) -> None:
    added, reason = mode([], inputs=inputs)
    assert added[0] == "--direct_running_mode=multi_processing"
    assert "input rows unknown" in reason and why in reason


def test_a_cut_short_tfrecord_file_is_unknown_not_small(tmp_path: Path) -> None:
    broken = tmp_path / "examples" / "Split-train" / "data.gz"
    broken.parent.mkdir(parents=True)
    broken.write_bytes(gzip.compress(struct.pack("<Q", 500) + b"\0" * 10))
    added, reason = mode([], inputs=[str(tmp_path / "examples")])
    assert added[0] == "--direct_running_mode=multi_processing"
    assert "is not a TFRecord file" in reason


@pytest.mark.parametrize(
    "content",
    [b"PAR1" + b"\0" * 64 + b"PAR1", b"a,b,c\n1,2,3\n", b"\x1f\x8b garbage"],
    ids=["parquet", "text", "broken-gzip"],
)
def test_examples_that_are_not_tfrecord_are_of_unknown_size(tmp_path: Path, content: bytes) -> None:
    data = tmp_path / "examples" / "Split-train" / "data_parquet-00000-of-00001"
    data.parent.mkdir(parents=True)
    data.write_bytes(content)
    added, reason = mode([], inputs=[str(tmp_path / "examples")])
    assert added[0] == "--direct_running_mode=multi_processing"
    assert "input rows unknown" in reason


@pytest.mark.parametrize(
    ("runner", "kind"),
    [
        (None, "direct"),
        ("direct", "direct"),
        ("Direct", "direct"),
        ("DIRECTRUNNER", "direct"),
        ("apache_beam.runners.direct.direct_runner.DirectRunner", "direct"),
        ("BundleBasedDirectRunner", "direct"),
        ("PortableRunner", "portable"),
        ("portable", "portable"),
        ("flink", "portable"),
        ("SparkRunner", "portable"),
        ("DataflowRunner", "other"),
    ],
)
def test_runner_names_match_as_beam_matches_them(runner: str | None, kind: str) -> None:
    assert beam_launch.runner_kind(runner) == kind


def test_the_dags_args_come_from_a_json_list(monkeypatch: pytest.MonkeyPatch) -> None:
    assert beam_launch.dag_args({}) == []
    assert beam_launch.dag_args({"TFX_DAGS_BEAM_ARGS": '["--a=1"]'}) == ["--a=1"]
    with pytest.raises(ConfigError, match="TFX_DAGS_BEAM_ARGS=.* is not JSON"):
        beam_launch.dag_args({"TFX_DAGS_BEAM_ARGS": "--a=1"})
    with pytest.raises(ConfigError, match="must be a JSON list of strings"):
        beam_launch.dag_args({"TFX_DAGS_BEAM_ARGS": '{"a": 1}'})


def test_job_names_are_lower_case_dashes_and_short() -> None:
    name = beam_launch.job_name("Transform", "manual__2026-11-25T07:54:18.173330+00:00")
    assert name == "transform-manual-2026-11-25t07-54-18-173330-00-00"
    assert len(beam_launch.job_name("N" * 50, "r" * 50)) == 63


@pytest.fixture
def listening() -> Iterator[str]:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield f"localhost:{server.getsockname()[1]}"


def closed_port() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"localhost:{probe.getsockname()[1]}"


def settle(args: list[str], tmp_path: Path, **properties: object) -> beam_launch.Settled:
    return beam_launch.settle(
        args,
        node_id="Transform",
        node_type="Transform",
        run_id="manual__1",
        input_examples=[],
        exec_properties=properties,
        pipeline_root=str(tmp_path / "root"),
        environ={},
    )


def test_a_job_service_that_is_down_is_named_before_any_work(tmp_path: Path) -> None:
    down = closed_port()
    args = ["--runner=PortableRunner", f"--job_endpoint={down}", "--environment_type=LOOPBACK"]
    with pytest.raises(beam_launch.BeamServiceUnavailable, match=f"Beam job service at {down}"):
        settle(args, tmp_path)


def test_a_worker_pool_that_is_down_is_named(tmp_path: Path, listening: str) -> None:
    down = closed_port()
    args = [
        "--runner=PortableRunner",
        f"--job_endpoint={listening}",
        "--environment_type=EXTERNAL",
        f"--environment_config={down}",
    ]
    with pytest.raises(beam_launch.BeamServiceUnavailable, match=f"worker pool at {down}"):
        settle(args, tmp_path)
    with pytest.raises(ConfigError, match="PortableRunner needs --job_endpoint"):
        settle(["--runner=PortableRunner"], tmp_path)


IDENTITY = "def preprocessing_fn(inputs):\n    return inputs\n"


def test_a_clusters_worker_pool_is_not_probed_from_here_but_a_local_one_is(
    tmp_path: Path, listening: str
) -> None:
    # A Flink job server on another host, workers with a pool sidecar on their localhost.
    remote_pool = [
        "--runner=flink",
        f"--job_endpoint={listening}",
        "--environment_type=EXTERNAL",
        "--environment_option=external_service_address=taskmanager.invalid:50000",
    ]
    settled = settle(remote_pool, tmp_path)
    assert settled.tfx_is_on_workers
    assert settled.args[0] == "--job_name=transform-manual-1"
    with pytest.raises(ConfigError, match="EXTERNAL needs --environment_config"):
        settle(
            ["--runner=flink", f"--job_endpoint={listening}", "--environment_type=EXTERNAL"],
            tmp_path,
        )


def user_package(root: Path, body: str = IDENTITY) -> None:
    package = root / "acme_features"
    (package / "sub").mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("")
    (package / "sub" / "fns.py").write_text(body)


def test_a_portable_run_stages_the_users_dotted_path_package_as_a_wheel(
    tmp_path: Path, listening: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    user_package(tmp_path / "repo")
    monkeypatch.syspath_prepend(str(tmp_path / "repo"))
    args = ["--runner=PortableRunner", f"--job_endpoint={listening}", "--environment_type=LOOPBACK"]
    settled = settle(
        args,
        tmp_path,
        preprocessing_fn="acme_features.sub.fns.preprocessing_fn",
        module_path="user_module@/root/_wheels/tfx_user_code.whl",
        schema_file="schema.pbtxt",
        serving="tfx_dags.runner.atomic_pusher.AtomicPusherExecutor",
    )
    assert settled.tfx_is_on_workers
    assert settled.args[0] == "--job_name=transform-manual-1"
    [wheel] = [Path(arg.split("=", 1)[1]) for arg in settled.args[1:]]
    assert wheel.parent == tmp_path / "root" / "_wheels"
    assert wheel.name.startswith("tfx_dags_user_acme_features-0+")
    names = zipfile.ZipFile(wheel).namelist()
    assert "acme_features/sub/fns.py" in names
    assert any(name.endswith(".dist-info/RECORD") for name in names)
    # The same code is the same wheel; edited code a new one.
    assert settle(args, tmp_path, fn="acme_features.sub.fns.f").args[1] == settled.args[1]
    user_package(tmp_path / "repo", body="def preprocessing_fn(inputs):\n    return {}\n")
    assert settle(args, tmp_path, fn="acme_features.sub.fns.f").args[1] != settled.args[1]


def test_a_remote_pipeline_root_gets_its_wheels_built_on_this_machine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    user_package(tmp_path / "repo")
    monkeypatch.syspath_prepend(str(tmp_path / "repo"))
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    properties = {"fn": "acme_features.sub.fns.f"}
    [wheel] = beam_staging.user_code_wheels(properties, "gs://bucket/root")
    assert wheel.parent == tmp_path / "tmp" / "tfx-dags-user-wheels"
    assert wheel.is_file()


def test_folders_without_init_are_not_user_packages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "data" / "penguin").mkdir(parents=True)
    monkeypatch.syspath_prepend(str(tmp_path))
    assert beam_staging.user_package("data.penguin.csv") is None  # a namespace package
    assert beam_staging.user_package("schema.pbtxt") is None  # no such module


def test_other_runners_keep_their_args_and_stage_tfx_as_tfx_does(tmp_path: Path) -> None:
    settled = settle(["--runner=DataflowRunner"], tmp_path)
    assert settled.args == [] and not settled.tfx_is_on_workers


def test_the_worker_boot_unpacks_a_staged_wheel_once_and_skips_beams_own_files(
    tmp_path: Path,
) -> None:
    user_package(tmp_path / "repo")
    wheel = beam_staging.wheel_of(tmp_path / "repo" / "acme_features", tmp_path / "staged")
    own = (
        "extra_packages.txt",
        "submission_environment_dependencies.txt",
        "dataflow_python_sdk.tar",
        "apache_beam-2.56.0-cp311-cp311-manylinux_2_17_x86_64.whl",
        "pickled_main_session",
    )
    for name in own:
        (tmp_path / "staged" / name).write_text(json.dumps(name))
    staged = sorted((tmp_path / "staged").iterdir())
    paths = boot.install(staged, tmp_path / "cache")
    assert len(paths) == 1
    assert (paths[0] / "acme_features" / "sub" / "fns.py").is_file()
    assert boot.install([wheel], tmp_path / "cache") == paths
