"""Beam pipeline args per runner: what each needs, refused when it is missing."""

from __future__ import annotations

import pytest

from tfx_dags.authoring import beam_args
from tfx_dags.common.errors import ConfigError


def test_the_default_direct_runner_uses_a_worker_process_per_core() -> None:
    assert beam_args.direct_args() == [
        "--runner=DirectRunner",
        "--direct_running_mode=multi_processing",
        "--direct_num_workers=0",
    ]
    assert beam_args.direct_args(running_mode="in_memory") == [
        "--runner=DirectRunner",
        "--direct_running_mode=in_memory",
    ]


def test_dataflow_flink_and_spark_args_carry_what_each_runner_needs() -> None:
    assert beam_args.dataflow_args(
        project="ml-prod",
        region="europe-west4",
        temp_location="gs://ml-prod/tmp",
        max_num_workers=20,
        sdk_container_image="europe-docker.pkg.dev/ml/tfx:1.15.1",
    ) == [
        "--runner=DataflowRunner",
        "--project=ml-prod",
        "--region=europe-west4",
        "--temp_location=gs://ml-prod/tmp",
        "--max_num_workers=20",
        "--sdk_container_image=europe-docker.pkg.dev/ml/tfx:1.15.1",
    ]
    assert beam_args.flink_args(flink_master="flink:8081", parallelism=8) == [
        "--runner=FlinkRunner",
        "--flink_master=flink:8081",
        "--parallelism=8",
        "--environment_type=LOOPBACK",
    ]
    assert beam_args.spark_args(
        spark_master_url="spark://spark:7077",
        environment_type="DOCKER",
        environment_config="registry/tfx-beam:1.15.1",
    ) == [
        "--runner=SparkRunner",
        "--spark_master_url=spark://spark:7077",
        "--environment_type=DOCKER",
        "--environment_config=registry/tfx-beam:1.15.1",
    ]


def test_portable_args_name_the_job_service_and_the_worker_pool() -> None:
    assert beam_args.portable_args(
        job_endpoint="beam-jobs:8099", environment_config="beam-workers:50000"
    ) == [
        "--runner=PortableRunner",
        "--job_endpoint=beam-jobs:8099",
        "--environment_type=EXTERNAL",
        "--environment_config=beam-workers:50000",
    ]
    assert beam_args.portable_args(job_endpoint="embed", environment_type="LOOPBACK") == [
        "--runner=PortableRunner",
        "--job_endpoint=embed",
        "--environment_type=LOOPBACK",
    ]
    process = '{"command": "/opt/tfx/bin/tfx-dags-sdk-boot"}'
    assert beam_args.portable_args(
        job_endpoint="localhost:8099", environment_type="PROCESS", environment_config=process
    )[2:] == ["--environment_type=PROCESS", f"--environment_config={process}"]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: beam_args.direct_args(running_mode="fast"), "running_mode='fast' must be one of"),
        (lambda: beam_args.direct_args(workers=-1), "workers=-1 must be an integer >= 0"),
        (
            lambda: beam_args.dataflow_args(project="p", region="r", temp_location="/tmp"),
            "temp_location='/tmp' must be a gs:// folder",
        ),
        (
            lambda: beam_args.dataflow_args(project="", region="r", temp_location="gs://b"),
            "project=''",
        ),
        (
            lambda: beam_args.flink_args(flink_master="f:8081", parallelism=0),
            "parallelism=0 must be",
        ),
        (
            lambda: beam_args.flink_args(flink_master="f:8081", environment_type="DOCKER"),
            "environment_type=DOCKER needs environment_config",
        ),
        (lambda: beam_args.spark_args(spark_master_url="yarn"), "must be spark://host:port"),
        (lambda: beam_args.portable_args(job_endpoint="jobs"), "job_endpoint='jobs' must be host"),
        (
            lambda: beam_args.portable_args(job_endpoint="jobs:8099"),
            "environment_type=EXTERNAL needs environment_config",
        ),
        (
            lambda: beam_args.portable_args(job_endpoint="j:1", environment_config="pool"),
            "environment_config='pool' must be host:port",
        ),
    ],
)
def test_missing_or_bad_runner_options_are_refused(call: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        call()  # type: ignore[operator]


def test_the_default_args_leave_the_mode_to_each_node_unless_the_deployment_sets_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tfx_dags.authoring.pipelines import default_beam_args

    monkeypatch.delenv("TFX_DAGS_BEAM_DIRECT_MODE", raising=False)
    assert default_beam_args() == ["--runner=DirectRunner"]
    monkeypatch.setenv("TFX_DAGS_BEAM_DIRECT_MODE", "multi_processing")
    assert default_beam_args() == beam_args.direct_args()
    monkeypatch.setenv("TFX_DAGS_BEAM_DIRECT_MODE", "fast")
    with pytest.raises(ConfigError, match="TFX_DAGS_BEAM_DIRECT_MODE='fast' must be one of"):
        default_beam_args()
    monkeypatch.setenv("TFX_DAGS_BEAM_MULTI_PROCESSING_ROWS", "many")
    with pytest.raises(ConfigError, match="TFX_DAGS_BEAM_MULTI_PROCESSING_ROWS='many'"):
        from tfx_dags.common import settings

        settings.beam_multi_processing_rows()
