"""Beam pipeline args for TFX's Beam-backed components, one helper per runner.

Pipelines take the result as ``beam_pipeline_args`` (every Beam-backed component) or in
``component_beam_args`` (one component, appended to the pipeline's). Switching runner is a
configuration change only: the same component code runs on each. TF-free, so DAG files and
pipeline definitions can both call it.

| runner    | needs                                         | where the work runs              |
|-----------|-----------------------------------------------|----------------------------------|
| direct    | nothing                                       | the node's own process tree      |
| dataflow  | project, region, temp_location (gs://...)     | Google Cloud Dataflow workers    |
| flink     | flink_master (host:port)                      | a Flink cluster (portable runner)|
| spark     | spark_master_url (spark://host:port)          | a Spark cluster (portable runner)|
| portable  | job_endpoint (host:port of a Beam job service)| the job service's SDK workers    |

DAGs can also set them without touching the pipeline: ``pipeline_dag(beam_args=...)`` for every
Beam-backed node and ``task_overrides={"Transform": {"beam_args": [...]}}`` for one; they come
after the pipeline's own, so they win (docs/scaling-out.md).
"""

from __future__ import annotations

from collections.abc import Sequence

from tfx_dags.common.errors import ConfigError

RUNNING_MODES = ("in_memory", "multi_threading", "multi_processing")
# How the portable runners start the Python SDK harness: in the node's process (LOOPBACK, for
# a cluster that can reach the worker), in a container image (DOCKER) or a service (EXTERNAL).
ENVIRONMENT_TYPES = ("LOOPBACK", "DOCKER", "PROCESS", "EXTERNAL")


def direct_args(*, running_mode: str = "multi_processing", workers: int = 0) -> list[str]:
    """DirectRunner on the node's machine.

    Args:
        running_mode: ``"multi_processing"`` (default: one worker process per core, past the
            GIL), ``"multi_threading"`` or ``"in_memory"`` (one process; fastest on tiny data).
        workers: worker processes or threads; 0 (default) means one per CPU core.
    """
    if running_mode not in RUNNING_MODES:
        raise ConfigError(f"running_mode={running_mode!r} must be one of {RUNNING_MODES}")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 0:
        raise ConfigError(f"workers={workers!r} must be an integer >= 0 (0: one per core)")
    args = ["--runner=DirectRunner", f"--direct_running_mode={running_mode}"]
    if running_mode != "in_memory":
        args.append(f"--direct_num_workers={workers}")
    return args


def dataflow_args(
    *,
    project: str,
    region: str,
    temp_location: str,
    max_num_workers: int | None = None,
    machine_type: str | None = None,
    sdk_container_image: str | None = None,
    extra: Sequence[str] = (),
) -> list[str]:
    """Google Cloud Dataflow. ``temp_location`` is a ``gs://`` folder; workers need the TFX
    version of the node (``sdk_container_image``: an image built from requirements/tfx115.lock)."""
    _require(project=project, region=region, temp_location=temp_location)
    if not temp_location.startswith("gs://"):
        raise ConfigError(f"temp_location={temp_location!r} must be a gs:// folder for Dataflow")
    args = [
        "--runner=DataflowRunner",
        f"--project={project}",
        f"--region={region}",
        f"--temp_location={temp_location}",
    ]
    if max_num_workers is not None:
        args.append(f"--max_num_workers={_positive(max_num_workers, 'max_num_workers')}")
    if machine_type:
        args.append(f"--machine_type={machine_type}")
    if sdk_container_image:
        args.append(f"--sdk_container_image={sdk_container_image}")
    return [*args, *extra]


def flink_args(
    *,
    flink_master: str,
    parallelism: int | None = None,
    environment_type: str = "LOOPBACK",
    environment_config: str | None = None,
    extra: Sequence[str] = (),
) -> list[str]:
    """Apache Flink through Beam's portable FlinkRunner (it starts the job server itself)."""
    _require(flink_master=flink_master)
    args = ["--runner=FlinkRunner", f"--flink_master={flink_master}"]
    if parallelism is not None:
        args.append(f"--parallelism={_positive(parallelism, 'parallelism')}")
    return [*args, *_environment(environment_type, environment_config), *extra]


def spark_args(
    *,
    spark_master_url: str,
    environment_type: str = "LOOPBACK",
    environment_config: str | None = None,
    extra: Sequence[str] = (),
) -> list[str]:
    """Apache Spark through Beam's portable SparkRunner (it starts the job server itself)."""
    _require(spark_master_url=spark_master_url)
    if not spark_master_url.startswith(("spark://", "local")):
        raise ConfigError(
            f"spark_master_url={spark_master_url!r} must be spark://host:port or local[N]"
        )
    args = ["--runner=SparkRunner", f"--spark_master_url={spark_master_url}"]
    return [*args, *_environment(environment_type, environment_config), *extra]


def portable_args(
    *,
    job_endpoint: str,
    environment_type: str = "EXTERNAL",
    environment_config: str | None = None,
    extra: Sequence[str] = (),
) -> list[str]:
    """Any Beam job service through Beam's PortableRunner: Beam's own Python job service
    (``apache_beam.runners.portability.local_job_service_main``), a Flink or Spark job server.

    Args:
        job_endpoint: the job service's ``host:port`` (``"embed"``: Beam's in-process one).
        environment_type: how the SDK workers start: ``"EXTERNAL"`` (default; a worker pool
            service at ``environment_config``, e.g. ``localhost:50000``), ``"PROCESS"``
            (a Flink or Spark job server runs ``environment_config``, a JSON
            ``{"command": ".../tfx-dags-sdk-boot"}``; Beam's Python job service cannot),
            ``"DOCKER"`` or ``"LOOPBACK"``.
        environment_config: see ``environment_type``.
        extra: further Beam args.

    User code reaches the workers staged with the job: ``module_file=`` wheels as TFX makes
    them, and the packages of dotted-path functions as wheels the node builds
    (``tfx_dags.runner.beam_launch``); ``tfx-dags-sdk-boot`` installs them in the worker.
    """
    _require(job_endpoint=job_endpoint)
    if job_endpoint != "embed":  # Beam's in-process job server
        _host_port(job_endpoint, "job_endpoint")
    if environment_type == "EXTERNAL" and environment_config:
        _host_port(environment_config, "environment_config")
    args = ["--runner=PortableRunner", f"--job_endpoint={job_endpoint}"]
    return [*args, *_environment(environment_type, environment_config), *extra]


def _host_port(value: str, name: str) -> None:
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"{name}={value!r} must be host:port (e.g. localhost:8099)")


def _environment(environment_type: str, environment_config: str | None) -> list[str]:
    if environment_type not in ENVIRONMENT_TYPES:
        raise ConfigError(
            f"environment_type={environment_type!r} must be one of {ENVIRONMENT_TYPES}"
        )
    if environment_type in ("DOCKER", "EXTERNAL") and not environment_config:
        raise ConfigError(
            f"environment_type={environment_type} needs environment_config (the SDK image for "
            "DOCKER, the worker pool address for EXTERNAL)"
        )
    args = [f"--environment_type={environment_type}"]
    if environment_config:
        args.append(f"--environment_config={environment_config}")
    return args


def _require(**values: object) -> None:
    for name, value in values.items():
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{name}={value!r} is required (a non-empty string)")


def _positive(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{name}={value!r} must be an integer >= 1")
    return value
