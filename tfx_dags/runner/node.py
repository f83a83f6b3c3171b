"""Launch exactly one node of a compiled pipeline, as one task of an Airflow DAG run.

    python -m tfx_dags.runner.node --pipeline-ir DIR/pipeline_ir.pb --node-id ID --run-id RUN \
        --reply FILE

Does for one node what TFX's LocalDagRunner does for each in turn: substitute the pipeline
run id, then run the node's driver, executor and publisher through TFX's portable launcher
against ML Metadata. All nodes of one Airflow DAG run share the run id, so they form one TFX
pipeline run: inputs resolve from upstream outputs and TFX caching works across runs.
"""

from __future__ import annotations

import argparse
import json
import logging as std_logging
import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tfx_dags.common.contract import NODE_ERROR_MARKER, NODE_SKIPPED_MARKER
from tfx_dags.common.errors import TfxDagsError
from tfx_dags.common.manifest import MANIFEST_FILE, Manifest
from tfx_dags.common.reply import REPLY_OPTION, NonRetryableError, Outcome, Reply, write_reply
from tfx_dags.mlmd import generations, intervals, lineage, tfx_lines
from tfx_dags.mlmd.connection import held_open, node_connection_config, store_uri
from tfx_dags.runner import anomalies, beam_launch
from tfx_dags.runner.anomalies import is_validator
from tfx_dags.runner.baseline import picks_latest_blessed_model, restrict_baseline
from tfx_dags.runner.csv_check import check_csv_files, is_csv_example_gen
from tfx_dags.runner.example_gen_input import example_gen_input
from tfx_dags.runner.push_guard import OlderWindow, PushWindow, guarded_push, is_pusher
from tfx_dags.runner.span_window import select_window
from tfx_dags.runner.timing import TIMINGS, record_launches
from tfx_dags.server.beam_workers import route_sdk_workers
from tfx_dags.tfx_process import user_code
from tfx_dags.tfx_process.error_report import report
from tfx_dags.tfx_process.lifetime import temporary_files_go_with_us, tie_to_parent
from tfx_dags.tfx_process.runner_stand_ins import install_runner_stand_ins


def load_pipeline(path: Path, run_id: str, parameters: Mapping[str, Any] | None = None) -> Any:
    """The compiled pipeline with this run's id and RuntimeParameter values bound (those not
    given keep their defaults)."""
    from tfx.dsl.compiler import constants
    from tfx.orchestration.portable import runtime_parameter_utils
    from tfx.proto.orchestration import pipeline_pb2

    pipeline = pipeline_pb2.Pipeline()
    pipeline.ParseFromString(path.read_bytes())
    runtime_parameter_utils.substitute_runtime_parameter(
        pipeline, {**(parameters or {}), constants.PIPELINE_RUN_ID_PARAMETER_NAME: run_id}
    )
    return pipeline


def prepare_user_code(pipeline_ir: Path) -> None:
    """Make the pipeline's user code importable here as at compile time: the pipeline file's
    folder on the path, the TFX runners' stand-ins (a node may import the pipeline file for
    a ``@component`` defined in it), and TFX's user-code wheels unpacked rather than
    pip-installed. A runner file's node runs in the file's folder, as its own runner ran it:
    relative paths in the pipeline (a template's serving_model_dir) resolve from there."""
    if (pipeline_ir.parent / MANIFEST_FILE).is_file():
        manifest = Manifest.read(pipeline_ir.parent)
        user_code.add_python_path(list(manifest.python_path))
        if manifest.working_dir:
            os.chdir(manifest.working_dir)
    install_runner_stand_ins()
    user_code.use_fast_wheel_install()


def configure_logging() -> None:
    """INFO to stderr through one handler: absl's, on the root logger, set before TensorFlow is
    imported, so that TF adds none of its own and prints its lines (Estimator loss, steps, eval
    metrics) once."""
    from absl import logging

    logging.use_absl_handler()
    logging.set_verbosity(logging.INFO)
    std_logging.getLogger("tensorflow").setLevel(std_logging.INFO)


@dataclass(frozen=True)
class NodeRunRequest:
    """What a task tells its node of its run."""

    run_id: str
    # This run's RuntimeParameter values.
    parameters: Mapping[str, Any] = field(default_factory=dict)
    # spans=: by input key, the window of an ExampleGen's spans it reads (span_window), and
    # the run's data interval and span, recorded on its execution (mlmd/intervals).
    input_spans: Mapping[str, Any] = field(default_factory=dict)
    data_interval: Mapping[str, Any] = field(default_factory=dict)
    # The DAG binds spans= (its runs read their intervals' spans): a clear of the run that
    # reaches its first nodes starts a new generation of the TFX run (mlmd/generations;
    # clear_number is Airflow's of the run), and a Pusher never pushes a model of an older
    # window (push_guard).
    spans: bool = False
    clear_number: int = 0


def run_node(pipeline_ir: Path, node_id: str, run: NodeRunRequest) -> Reply:
    """Run the node, or reuse its earlier success in this run; every end of it as the reply
    the operator reads. ``ok``: the result is ``node_result``'s (``execution_id``, ``outputs``
    as ML Metadata recorded them, ``reused``). ``skipped``: TFX does not run it. ``bad_input``
    (a NonRetryableError) or ``failed``: the message says why, and the result is what the
    failed execution had resolved, when ML Metadata recorded one. ML Metadata is opened once
    for all of it."""
    try:
        return _run_node(pipeline_ir, node_id, run)
    except (NodeSkipped, OlderWindow) as error:
        return skipped(error)
    except Exception as error:  # noqa: BLE001 - every failure becomes the node's reply
        return failure(node_id, error)


def _run_node(pipeline_ir: Path, node_id: str, run: NodeRunRequest) -> Reply:
    configure_logging()
    from absl import logging

    prepare_user_code(pipeline_ir)
    parameters, input_spans, data_interval = run.parameters, run.input_spans, run.data_interval
    pipeline = load_pipeline(pipeline_ir, run.run_id, parameters)
    if parameters:
        logging.info("Runtime parameters of this run: %s", dict(parameters))
    config, where = node_connection_config(pipeline)
    pipeline_node = _node(pipeline, pipeline_ir, node_id)
    if pipeline_node.execution_options.HasField("skip"):
        raise NodeSkipped(f"{node_id} is marked to be skipped in the pipeline")
    with held_open(config) as connection:
        # Before anything is read or written: a pipeline's history belongs to one TFX line.
        tfx_lines.claim_pipeline(connection.store, pipeline.pipeline_info.id, store_uri(config))
        run_id = run.run_id
        if run.spans:
            run_id = generations.current(
                connection.store,
                pipeline.pipeline_info.id,
                run.run_id,
                run.clear_number,
                node_id=node_id,
                first_node=not pipeline_node.upstream_nodes,
            )
        if run_id != run.run_id:
            # A re-run of the run (a reprocess, a clear): TFX's cache decides what is reused.
            logging.info(
                "Run %s, cleared %d times: TFX run %s", run.run_id, run.clear_number, run_id
            )
            pipeline = load_pipeline(pipeline_ir, run_id, parameters)
            pipeline_node = _node(pipeline, pipeline_ir, node_id)
        earlier = lineage.completed_execution(
            connection.store, pipeline.pipeline_info.id, node_id, run_id
        )
        if earlier is not None:
            # A cleared task of a run, or a whole run re-run: the node already succeeded in
            # this run, and launching it again could resolve other inputs (the Evaluator's
            # baseline is "the latest blessed model", which this very run may have pushed
            # since). Reusing the run's own result keeps a re-run from changing anything.
            logging.info(
                "Node %s already succeeded in run %s (ML Metadata execution %d): reusing it.",
                node_id,
                run_id,
                earlier.id,
            )
            result = node_result(
                connection.store, pipeline_node, earlier.id, reused=True, where=store_uri(config)
            )
            if is_validator(pipeline_node.node_info.type.name):
                outputs = result["outputs"].get("anomalies", [])
                anomalies.check([artifact["uri"] for artifact in outputs])
            return Reply(Outcome.OK, result=result)
        logging.info("ML Metadata: %s", where)
        if data_interval and picks_latest_blessed_model(pipeline_node):
            line = restrict_baseline(
                connection.store, pipeline.pipeline_info.id, pipeline_node, data_interval["span"]
            )
            logging.info("Evaluator's baseline: %s", line)
        if input_spans:
            for line in select_window(
                connection.store, pipeline.pipeline_info.id, run_id, pipeline_node, input_spans
            ):
                logging.info("Window of spans: %s", line)
        try:
            with _push_guard(connection.store, pipeline, run_id, pipeline_node, run) as window:
                execution_id = launch(pipeline, pipeline_node, connection)
        except (NodeSkipped, OlderWindow):
            raise
        except Exception as error:  # noqa: BLE001 - said in the reply, with what it resolved
            try:
                # What the failed execution had resolved (its inputs), for the task's lineage.
                failed = lineage.newest_execution(
                    connection.store, pipeline.pipeline_info.id, node_id, run_id
                )
                partial = None
                if failed is not None:
                    partial = node_result(
                        connection.store,
                        pipeline_node,
                        failed.id,
                        reused=False,
                        where=store_uri(config),
                    )
            except Exception:  # noqa: BLE001 - the node's own error is the one to report
                partial = None
            return failure(node_id, error, partial)
        if run.spans:
            generations.record_start(
                connection.store, pipeline.pipeline_info.id, run_id, run.clear_number
            )
        if data_interval:
            windows = list(input_spans.values())
            read = (int(windows[0]["first"]), int(windows[0]["last"])) if windows else None
            intervals.record(connection.store, execution_id, run_id, data_interval, read)
        result = node_result(
            connection.store, pipeline_node, execution_id, reused=False, where=store_uri(config)
        )
        if window.model_spans:
            logging.info("The model was trained on spans %s.", list(window.model_spans))
            result["model_spans"] = list(window.model_spans)
        return Reply(Outcome.OK, result=result)


def _node(pipeline: Any, pipeline_ir: Path, node_id: str) -> Any:
    nodes = {node.pipeline_node.node_info.id: node.pipeline_node for node in pipeline.nodes}
    if node_id not in nodes:
        raise KeyError(f"node {node_id!r} is not in {pipeline_ir}; nodes: {sorted(nodes)}")
    return nodes[node_id]


@contextmanager
def _push_guard(
    store: Any, pipeline: Any, run_id: str, pipeline_node: Any, run: NodeRunRequest
) -> Iterator[PushWindow]:
    """A Pusher's launch under ``push_guard`` (never a model of an older window over a newer
    one); other nodes' as they are."""
    if not run.spans or not is_pusher(pipeline_node.node_info.type.name):
        yield PushWindow()
        return
    with guarded_push(store, pipeline.pipeline_info.id, run_id, pipeline_node) as window:
        yield window


def node_result(
    store: Any, pipeline_node: Any, execution_id: int, *, reused: bool, where: str = ""
) -> dict[str, Any]:
    """What the operator reads of a node's execution: its artifacts as ML Metadata recorded
    them, and the data it read from outside ML Metadata (an ExampleGen's ``input_base``)."""
    parameters = pipeline_node.parameters.parameters
    external = []
    if "input_base" in parameters:
        external.append(parameters["input_base"].field_value.string_value)
    return {
        "execution_id": execution_id,
        **lineage.execution_artifacts(store, execution_id),
        "external_inputs": [uri for uri in external if uri],
        "reused": reused,
        # The store the ids are ids in (no credentials): lineage names artifacts by it.
        "store": where,
    }


def launch(pipeline: Any, pipeline_node: Any, connection: Any) -> int:
    """Launch the node through TFX's portable launcher on an open ML Metadata connection;
    the id of the execution it recorded."""
    from absl import logging
    from tfx.orchestration.local import runner_utils
    from tfx.orchestration.portable import launcher
    from tfx.proto.orchestration import executable_spec_pb2

    node_id = pipeline_node.node_info.id
    if is_csv_example_gen(pipeline_node.node_info.type.name):
        found = example_gen_input(pipeline_node)
        if found is not None:
            what = found.describe()
            rows = check_csv_files(what, list(found.files))
            logging.info(
                "Input %s: %d CSV files, %d rows, every file readable", what, len(found.files), rows
            )
    deployment = runner_utils.extract_local_deployment_config(pipeline)
    executor_spec = runner_utils.extract_executor_spec(deployment, node_id)
    schema_digest = user_code.fingerprint_schema_file(pipeline_node)
    if schema_digest is not None:
        logging.info("Schema file digest (part of the cache key): %s", schema_digest)
    record_launches()
    if route_sdk_workers():
        logging.info("Beam SDK workers, if any, are forked from the node server.")
    node_launcher = launcher.Launcher(
        pipeline_node=pipeline_node,
        mlmd_connection=connection,
        pipeline_info=pipeline.pipeline_info,
        pipeline_runtime_spec=pipeline.runtime_spec,
        executor_spec=executor_spec,
        custom_driver_spec=runner_utils.extract_custom_driver_spec(deployment, node_id),
        # Beam args settled once the inputs are known (DirectRunner mode, portable runners).
        custom_executor_operators={
            executable_spec_pb2.BeamExecutableSpec: beam_launch.executor_operator(
                pipeline.runtime_spec.pipeline_root.field_value.string_value
            )
        },
    )
    execution = node_launcher.launch()
    if execution is None or getattr(execution, "execution_id", 0) is None:
        # TFX skipped the node: its inputs resolved to nothing (a tfx.dsl.Cond that does not
        # hold, e.g. a Pusher inside "if blessed"). Nothing ran, nothing was published.
        raise NodeSkipped(f"{node_id} skipped by TFX: its inputs resolved to nothing")
    if is_validator(pipeline_node.node_info.type.name):
        anomalies.check([artifact.uri for artifact in execution.output_dict["anomalies"]])
    return int(execution.execution_id)


class NodeSkipped(TfxDagsError):
    """TFX decided not to run the node; the task shows as skipped."""


def skipped(error: Exception) -> Reply:
    print(f"{NODE_SKIPPED_MARKER}{error}", file=sys.stderr, flush=True)
    return Reply(Outcome.SKIPPED, str(error))


def failure(node_id: str, error: Exception, partial: dict[str, Any] | None = None) -> Reply:
    """A failed node's reply, its reason also printed for the task log: ``bad_input`` for
    an error retrying cannot help (the same input fails the same way), else ``failed``;
    with ``partial``, what its execution read (and wrote, if anything) for the lineage."""
    if isinstance(error, NonRetryableError):
        print(error, file=sys.stderr)
        message = f"{node_id}: " + "; ".join(line.strip() for line in str(error).splitlines())
        print(f"{NODE_ERROR_MARKER}{message}", file=sys.stderr, flush=True)
        return Reply(error.outcome, message, partial)
    return Reply(Outcome.FAILED, report(NODE_ERROR_MARKER, error, prefix=f"{node_id}: "), partial)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pipeline-ir", required=True, type=Path)
    parser.add_argument("--node-id", required=True)
    parser.add_argument("--run-id", required=True)
    parser.add_argument(REPLY_OPTION, type=Path, help="write the node's reply here")
    parser.add_argument(
        "--runtime-parameters-json", default="{}", help="this run's RuntimeParameter values"
    )
    parser.add_argument(
        "--spans", action="store_true", help="the DAG binds spans= (generations, push guard)"
    )
    parser.add_argument(
        "--clear-number", type=int, default=0, help="Airflow's clear_number of the run"
    )
    parser.add_argument(
        "--data-interval-json",
        default="{}",
        help="the run's data interval and span, to record (spans=)",
    )
    parser.add_argument(
        "--input-spans-json",
        default="{}",
        help="by input key, the window of an ExampleGen's spans it reads (spans=)",
    )
    args = parser.parse_args(argv)
    tie_to_parent()
    # The node's temporary files (TFX's unpacked user-code wheels among them) go with it.
    with temporary_files_go_with_us("tfx-dags-node-"):
        try:
            run = NodeRunRequest(
                run_id=args.run_id,
                parameters=json.loads(args.runtime_parameters_json),
                input_spans=json.loads(args.input_spans_json),
                data_interval=json.loads(args.data_interval_json),
                spans=args.spans,
                clear_number=args.clear_number,
            )
        except ValueError as error:
            reply = failure(args.node_id, error)
        else:
            reply = run_node(args.pipeline_ir, args.node_id, run)
    if reply.ok:
        if args.node_id in TIMINGS:
            # One line the end-to-end benchmark reads from the task log.
            spent = TIMINGS[args.node_id]
            print(
                f"tfx_dags: node {args.node_id} timings: launch {spent['launch_s']:.3f} s, "
                f"executor {spent['executor_s']:.3f} s",
                flush=True,
            )
        execution_id = reply.result["execution_id"]
        print(
            f"tfx_dags: node {args.node_id} finished, ML Metadata execution {execution_id}",
            flush=True,
        )
    return write_reply(args.reply, reply)


if __name__ == "__main__":
    sys.exit(main())
