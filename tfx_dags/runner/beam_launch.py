"""A Beam-backed node's Beam args, settled at launch, when its inputs are known.

TFX hands a Beam executor the args compiled into the pipeline. ``BeamLaunch`` (the launcher's
operator for Beam executable specs) adds, after input resolution and before the executor:

- the deployment's or the DAG's args (``TFX_DAGS_BEAM_ARGS``, a JSON list: the worker's own,
  replaced by what ``pipeline_dag(beam_args=...)`` and task overrides set): after the
  pipeline's, so they win;
- a DirectRunner running mode where none is set: ``in_memory`` below
  ``settings.beam_multi_processing_rows()`` input rows, ``multi_processing`` (a worker per
  core) from there or when the rows cannot be counted. The rows are counted in the node's
  input Examples as ML Metadata resolved them (an ExampleGen: its ``input_base`` files), up to
  the threshold only, and the choice and its reason go to the task log;
- for a portable runner (PortableRunner, Flink, Spark): a check that the job service (and an
  EXTERNAL worker pool) answers, so that a service that is down fails the node before any
  work with a message that says which; the user's dotted-path packages as wheels staged with
  the job (``beam_staging``); a job name that says which node of which run it is.

TFX also stages a copy of itself (``dependency_utils.make_beam_dependency_flags``: 2.5 s of
sdist building per node here) unless told of other dependencies. DirectRunner workers and
portable workers started from the TFX environment (EXTERNAL, PROCESS, LOOPBACK) have TFX
already, so it is skipped for them.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import socket
import struct
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tfx_dags.common import settings
from tfx_dags.common.contract import BEAM_ARGS_ENV
from tfx_dags.common.errors import ConfigError, TfxDagsError
from tfx_dags.runner import beam_staging

# Runner names as Beam matches them: case aside, with or without "Runner", or a class path.
DIRECT_RUNNERS = ("direct", "switchingdirect", "bundlebaseddirect")
PORTABLE_RUNNERS = ("portable", "flink", "spark")
# A record longer than this is not one: the file is not TFRecord (Parquet, text, ...).
MAX_RECORD_BYTES = 1 << 28
# Input this large runs multi_processing whatever its rows (e.g. images in few rows).
MULTI_PROCESSING_BYTES = 1 << 30
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1", "[::1]")
# SDK workers of these environments run the TFX environment's interpreter: TFX is there.
TFX_ENVIRONMENTS = ("EXTERNAL", "PROCESS", "LOOPBACK")
SERVICE_TIMEOUT_S = 5.0


class BeamServiceUnavailable(TfxDagsError):
    """A Beam job service or worker pool the node's args name does not answer."""


@dataclass(frozen=True)
class Settled:
    """Args to add after the node's own, and why, line by line, for the task log."""

    args: list[str]
    notes: list[str]
    tfx_is_on_workers: bool


def dag_args(environ: Mapping[str, str] | None = None) -> list[str]:
    """``TFX_DAGS_BEAM_ARGS``: a JSON list of strings, or nothing."""
    raw = (os.environ if environ is None else environ).get(BEAM_ARGS_ENV, "").strip()
    if not raw:
        return []
    try:
        args = json.loads(raw)
    except json.JSONDecodeError as error:
        raise ConfigError(f"{BEAM_ARGS_ENV}={raw!r} is not JSON: {error}") from None
    if not isinstance(args, list) or not all(isinstance(arg, str) for arg in args):
        raise ConfigError(f"{BEAM_ARGS_ENV}={raw!r} must be a JSON list of strings")
    return args


def flag(args: Sequence[str], name: str) -> str | None:
    """The last value of ``--name=value`` or ``--name value`` in ``args`` (Beam's parser
    takes the last), or None."""
    value = None
    for index, arg in enumerate(args):
        if arg.startswith(f"--{name}="):
            value = arg.split("=", 1)[1]
        elif arg == f"--{name}" and index + 1 < len(args):
            value = args[index + 1]
    return value


def runner_kind(runner: str | None) -> str:
    """``direct``, ``portable`` or ``other``, matching names as Beam's create_runner does."""
    if runner is None:
        return "direct"
    name = runner.rsplit(".", 1)[-1].lower().removesuffix("runner")
    if name in DIRECT_RUNNERS:
        return "direct"
    return "portable" if name in PORTABLE_RUNNERS else "other"


def settle(
    own_args: Sequence[str],
    *,
    node_id: str,
    node_type: str,
    run_id: str,
    input_examples: Sequence[str],
    exec_properties: Mapping[str, Any],
    pipeline_root: str,
    environ: Mapping[str, str] | None = None,
) -> Settled:
    """What to add to a node's Beam args (``own_args``, the pipeline's) and why."""
    added = dag_args(environ)
    args = [*own_args, *added]
    notes = [f"Beam args after the pipeline's ({BEAM_ARGS_ENV}): {added}"] if added else []
    runner = flag(args, "runner")
    kind = runner_kind(runner)
    if kind == "direct":
        mode_args, reason = direct_mode(
            args, node_type=node_type, inputs=input_examples, exec_properties=exec_properties
        )
        return Settled([*added, *mode_args], [*notes, reason], tfx_is_on_workers=True)
    environment = (flag(args, "environment_type") or "DOCKER").upper()
    if kind == "other":
        notes.append(f"Runner {runner}: args as given")
        return Settled(added, notes, tfx_is_on_workers=False)
    check_services(args, runner=str(runner), environment=environment)
    extra = []
    if flag(args, "job_name") is None:
        extra.append(f"--job_name={job_name(node_id, run_id)}")
    wheels = beam_staging.user_code_wheels(exec_properties, pipeline_root)
    extra += [f"--extra_package={wheel}" for wheel in wheels]
    notes.append(
        f"Runner {runner} ({environment} workers); staged with the job: "
        f"{[wheel.name for wheel in wheels] or 'no dotted-path user code'}"
    )
    return Settled([*added, *extra], notes, tfx_is_on_workers=environment in TFX_ENVIRONMENTS)


def direct_mode(
    args: Sequence[str],
    *,
    node_type: str,
    inputs: Sequence[str],
    exec_properties: Mapping[str, Any],
) -> tuple[list[str], str]:
    """The DirectRunner mode to add (none if the args set one) and the reason, for the log."""
    given = flag(args, "direct_running_mode")
    if given is not None:
        return [], f"DirectRunner mode {given}: set by the pipeline or the DAG"
    threshold = settings.beam_multi_processing_rows()
    source, rows = count_input_rows(
        node_type=node_type, inputs=inputs, exec_properties=exec_properties, limit=threshold
    )
    if rows is not None and rows < threshold:
        reason = f"{rows} input rows ({source}) < {threshold}"
        return ["--direct_running_mode=in_memory"], f"DirectRunner mode in_memory: {reason}"
    if rows is None:
        reason = f"input rows unknown ({source})"
    else:
        reason = f"input rows ({source}) reach {threshold}, counted up to there"
    mode_args = ["--direct_running_mode=multi_processing"]
    if flag(args, "direct_num_workers") is None:
        mode_args.append("--direct_num_workers=0")
    return mode_args, f"DirectRunner mode multi_processing: {reason}"


def count_input_rows(
    *, node_type: str, inputs: Sequence[str], exec_properties: Mapping[str, Any], limit: int
) -> tuple[str, int | None]:
    """Rows of the node's input Examples (folders of TFRecord files), or of an ExampleGen's
    ``input_base``; counting stops at ``limit``. None where they cannot be counted here: an
    object store, a format other than CSV or TFRecord (Parquet Examples), 1 GiB or more."""
    input_base = exec_properties.get("input_base")
    if inputs:
        source, files, reader = "input Examples", _files(inputs), _tfrecords
    elif isinstance(input_base, str) and input_base:
        csv = node_type.rsplit(".", 1)[-1].startswith("Csv")
        source, files, reader = f"input_base {input_base}", _files([input_base]), _tfrecords
        if csv:
            reader = _csv_rows
    else:
        return "no input Examples", None
    if files is None:
        return f"{source} not on a local filesystem", None
    size = sum(path.stat().st_size for path in files)
    if size >= MULTI_PROCESSING_BYTES:
        # Few, large rows (images, long texts) need the workers as much as many rows do.
        return f"{source}: {size / 2**30:.1f} GiB, too large to count", None
    rows = 0
    try:
        for path in files:
            rows += reader(path, limit - rows)
            if rows >= limit:
                break
    except Exception as error:  # noqa: BLE001 - an unreadable input is of unknown size
        return f"{source}: {error}", None
    return source, rows


def _files(uris: Iterable[str]) -> list[Path] | None:
    files = []
    for uri in uris:
        if "://" in uri:
            return None
        root = Path(uri)
        if root.is_file():
            files.append(root)
            continue
        # os.walk follows symlinked folders, which Path.rglob (3.11) skips.
        files += sorted(
            Path(folder) / name
            for folder, _dirs, names in os.walk(root, followlinks=True)
            for name in names
            if not name.startswith(".") and not name.endswith(".json")
        )
    return files


def _csv_rows(path: Path, limit: int) -> int:
    """Lines after the header, counted in blocks."""
    lines = 0
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            lines += block.count(b"\n")
            if lines > limit:
                break
    return max(lines - 1, 0)


def _tfrecords(path: Path, limit: int) -> int:
    """Records of a TFRecord file, gzipped or not, read by their length prefixes."""
    with path.open("rb") as probe:
        gzipped = probe.read(2) == b"\x1f\x8b"
    records = 0
    with gzip.open(path, "rb") if gzipped else path.open("rb") as stream:
        while records < limit:
            header = stream.read(12)  # uint64 length, uint32 CRC of the length
            if not header:
                break
            if len(header) < 12:
                raise ValueError(f"{path} is not a TFRecord file")
            (length,) = struct.unpack("<Q", header[:8])
            if length > MAX_RECORD_BYTES:
                raise ValueError(f"{path} is not a TFRecord file")
            if len(stream.read(length + 4)) != length + 4:
                raise ValueError(f"{path} is not a TFRecord file (a record is cut short)")
            records += 1
    return records


def check_services(args: Sequence[str], *, runner: str, environment: str) -> None:
    """The job service must take connections; so must an EXTERNAL worker pool where this
    host sees it as the job service does (both on this host: Beam's Python job service,
    which binds to localhost). A Flink or Spark cluster's pool address is its workers' view
    (often a sidecar on localhost there): not checked from here."""
    endpoint = flag(args, "job_endpoint")
    if endpoint and endpoint != "embed":
        _reachable(endpoint, "Beam job service", "--job_endpoint")
    elif endpoint is None and runner_kind(runner) == "portable" and "portable" in runner.lower():
        raise ConfigError("PortableRunner needs --job_endpoint=host:port (beam_args.portable_args)")
    if environment != "EXTERNAL":
        return
    pool = flag(args, "environment_config") or _environment_option(args, "external_service_address")
    if not pool:
        raise ConfigError(
            "--environment_type=EXTERNAL needs --environment_config=host:port (the worker pool)"
        )
    if endpoint and _on_this_host(endpoint) and _on_this_host(pool):
        _reachable(pool, "Beam worker pool", "--environment_config")


def _environment_option(args: Sequence[str], name: str) -> str | None:
    """A value of Beam's ``--environment_option=name=value`` form."""
    values = [
        arg.split("=", 2)[2]
        for arg in args
        if arg.startswith(("--environment_option=", "--environment_options="))
        and arg.split("=", 2)[1:2] == [name]
        and arg.count("=") >= 2
    ]
    return values[-1] if values else None


def _on_this_host(address: str) -> bool:
    return address.rpartition(":")[0] in LOCAL_HOSTS


def _reachable(address: str, what: str, arg: str) -> None:
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"{arg}={address!r} must be host:port")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=SERVICE_TIMEOUT_S):
            return
    except OSError as error:
        raise BeamServiceUnavailable(
            f"{what} at {address} does not answer ({error.strerror or error}); nothing ran. "
            f"Start it or fix {arg} in the DAG's beam_args (docs/scaling-out.md); "
            "the task's retries try again."
        ) from None


def job_name(node_id: str, run_id: str) -> str:
    """Lower case, digits and dashes (the strictest runners' rule), at most 63 characters."""
    name = re.sub(r"[^a-z0-9]+", "-", f"{node_id}-{run_id}".lower()).strip("-")
    return name[:63].rstrip("-") or "tfx-node"


@contextmanager
def tfx_not_staged() -> Iterator[None]:
    """TFX's executors build and stage an sdist of TFX itself unless told of dependencies;
    skip that where the workers run the TFX environment."""
    from tfx.utils import dependency_utils

    original = dependency_utils.make_beam_dependency_flags
    dependency_utils.make_beam_dependency_flags = lambda args: list(args)
    try:
        yield
    finally:
        dependency_utils.make_beam_dependency_flags = original


def executor_operator(pipeline_root: str) -> type:
    """TFX's Beam executor operator, with the args settled at launch (``settle``); staged
    wheels go under ``pipeline_root``, which every worker can read."""
    from absl import logging
    from tfx.dsl.compiler import placeholder_utils
    from tfx.orchestration.portable import beam_executor_operator
    from tfx.proto.orchestration import placeholder_pb2
    from tfx.utils import dependency_utils

    def constant(arg: str) -> Any:
        expression = placeholder_pb2.PlaceholderExpression()
        expression.value.string_value = arg
        return expression

    class BeamLaunch(beam_executor_operator.BeamExecutorOperator):
        def run_executor(self, execution_info: Any, make_beam_pipeline_fn: Any = None) -> Any:
            node = execution_info.pipeline_node
            # The pipeline's args as TFX would resolve them (placeholders included).
            context = placeholder_utils.ResolutionContext(
                exec_info=execution_info,
                executor_spec=self._executor_spec,
                platform_config=self._platform_config,
            )
            expressions: list[Any] = getattr(self, "beam_pipeline_args")  # noqa: B009 - untyped
            own = [
                str(placeholder_utils.resolve_placeholder_expression(arg, context))
                for arg in expressions
            ]
            settled = settle(
                own,
                node_id=node.node_info.id,
                node_type=node.node_info.type.name,
                run_id=execution_info.pipeline_run_id or "",
                input_examples=[
                    artifact.uri
                    for artifacts in execution_info.input_dict.values()
                    for artifact in artifacts
                    if artifact.type_name == "Examples"
                ],
                exec_properties=execution_info.exec_properties,
                pipeline_root=pipeline_root,
            )
            added = list(settled.args)
            if settled.tfx_is_on_workers:
                settled.notes.append("TFX's own sdist not staged: the workers run TFX already")
            else:
                # TFX stages itself unless told of other packages: the user's wheels must not
                # stop it, so it is asked first, without them.
                base = [*own, *(arg for arg in added if not arg.startswith("--extra_package="))]
                added += dependency_utils.make_beam_dependency_flags(base)[len(base) :]
            for note in settled.notes:
                logging.info("tfx_dags: %s: %s", node.node_info.id, note)
            logging.info("tfx_dags: Beam args of %s: %s", node.node_info.id, own + added)
            self.beam_pipeline_args = [constant(arg) for arg in [*own, *added]]
            if not settled.tfx_is_on_workers:
                return super().run_executor(execution_info, make_beam_pipeline_fn)
            with tfx_not_staged():
                return super().run_executor(execution_info, make_beam_pipeline_fn)

    return BeamLaunch
