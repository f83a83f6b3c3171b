"""The operator that runs one TFX node as a subprocess of the TFX environment."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airflow.sdk import Asset, AssetAlias, BaseHook, BaseOperator
from airflow.sdk.exceptions import (
    AirflowException,
    AirflowFailException,
    AirflowNotFoundException,
    AirflowSkipException,
)

from tfx_dags.airflow import mlmd_query, node_env
from tfx_dags.airflow.compile_cache import ensure_compiled
from tfx_dags.airflow.interval_spans import IntervalSpans
from tfx_dags.airflow.params import RunParam, RuntimeBinding, is_template, resolve_run_kwargs
from tfx_dags.common import settings, tfx_envs
from tfx_dags.common.contract import STORE_ENV, URI_ENV
from tfx_dags.common.errors import ConfigError, TfxDagsError
from tfx_dags.common.pipeline_ref import parse_pipeline_ref
from tfx_dags.common.reply import REPLY_OPTION, NoReply, Outcome, Reply, read_reply
from tfx_dags.common.spans import IntervalError
from tfx_dags.node_server import client as node_client
from tfx_dags.ui.links import TfxArtifactsLink


@dataclass(frozen=True)
class RunVariant:
    """What a task needs to run the pipeline compiled with one run's parameter values."""

    dag_id: str
    pipeline: str
    pipeline_kwargs: Mapping[str, Any]
    run_params: Mapping[str, RunParam] = field(default_factory=dict)
    tfx_env: str | None = None

    def ir_path(self, params: Mapping[str, Any], default_ir: str) -> str:
        kwargs = resolve_run_kwargs(
            pipeline_kwargs=self.pipeline_kwargs, run_params=self.run_params, values=params
        )
        if kwargs == dict(self.pipeline_kwargs):
            return default_ir
        ref = parse_pipeline_ref(self.pipeline)
        compiled = ensure_compiled(
            cache_name=ref.cache_name(self.dag_id),
            ref=ref,
            kwargs=kwargs,
            tfx_env=self.tfx_env,
        )
        return str(compiled.ir_path)


class TfxNodeOperator(BaseOperator):
    """Run one node of a compiled TFX pipeline with the TFX environment's interpreter.

    The node's output streams into the task log. A kill or an execution timeout ends the
    node's whole process group (Beam and TensorFlow workers included): SIGTERM first, SIGKILL
    after ``TFX_DAGS_KILL_GRACE`` seconds. A non-zero exit fails the task with the node's
    error in the message.

    Args:
        pipeline_ir: path of the compiled ``pipeline_ir.pb`` (of the DAG's parameter
            defaults; ``variant`` picks another for other values). Serialized with the DAG;
            never rendered.
        node_id: the TFX node to run.
        node_type: the node's TFX class, shown in the UI.
        node_env: environment variables of the node's process, set over the allow-listed
            part of the worker's environment (``tfx_dags.airflow.node_env``): a DAG's
            ``task_overrides`` ``env``. Default none.
        variant: the DAG's run parameters; a run with other values than the defaults runs
            the pipeline compiled with them. Default none.
        runtime: the pipeline's TFX RuntimeParameters; each run binds them from its Params.
            Default none.
        spans: the DAG's ``spans=``: the run's data interval binds the RuntimeParameter
            its ExampleGen's ``range_config`` is to the interval's span. Default none.
        metadata_store: ``"deployment"`` sets a pipeline's own ML Metadata store aside for
            the deployment's. Default ``"pipeline"``.
        tfx_env: the TFX environment whose interpreter runs the node, by name; the worker
            resolves it (TFX_DAGS_TFX_ENVS), so each host may keep its environments where
            it likes. Default: the worker's default environment.
        pushed_model_alias: for a Pusher, the alias through which a push emits the pushed
            model's Asset event. Default none.
        input_channels: what each input key of the node reads, ``(key, producer node id,
            producer's output key)``: the task's OpenLineage inputs before TFX resolves
            them. Default none.

    Lineage: with Airflow's OpenLineage provider configured, the task reports its node's
    ML Metadata input and output artifacts as OpenLineage datasets
    (``tfx_dags.airflow.openlineage``); then its return value (an XCom) is the node's
    artifacts, which downstream tasks read.

    ML Metadata: when the Airflow connection ``TFX_DAGS_METADATA_CONN_ID`` exists, its URI
    reaches the node through the environment (never the command line or the log).
    """

    ui_color = "#fbe3c3"
    # Serialized with the DAG (Airflow serializes a custom operator's template fields), so
    # the DAG itself says which compile it runs: the TFX view reads it there
    # (``tfx_dags.ui.dag_pipelines``), and the task's Rendered Template tab shows it. A path,
    # never a template: ``render_template_fields`` leaves it as the factory gave it.
    template_fields = ("pipeline_ir",)
    # "TFX artifacts": the node's inputs and outputs in the TFX view (plugins/tfx_view.py).
    operator_extra_links = (TfxArtifactsLink(),)

    def __init__(
        self,
        *,
        pipeline_ir: str,
        node_id: str,
        node_type: str = "",
        node_env: Mapping[str, str] | None = None,
        variant: RunVariant | None = None,
        runtime: RuntimeBinding | None = None,
        spans: IntervalSpans | None = None,
        metadata_store: str = "pipeline",
        tfx_env: str | None = None,
        pushed_model_alias: AssetAlias | None = None,
        input_channels: Sequence[tuple[str, str, str]] = (),
        **kwargs: Any,
    ) -> None:
        if pushed_model_alias is not None:
            kwargs["outlets"] = [*kwargs.get("outlets", []), pushed_model_alias]
        # The DAG's own failure callbacks first, then the close of what a killed node left open.
        callbacks = kwargs.get("on_failure_callback") or []
        kwargs["on_failure_callback"] = [
            *(callbacks if isinstance(callbacks, list) else [callbacks]),
            close_killed_execution,
        ]
        super().__init__(**kwargs)
        self.pipeline_ir = pipeline_ir
        self.tfx_node_id = node_id
        self.node_type = node_type
        self.node_env = dict(node_env or {})
        self.variant = variant
        self.runtime = runtime
        self.spans = spans
        self.metadata_store = metadata_store
        self.tfx_env = tfx_env
        self.pushed_model_alias = pushed_model_alias
        self.input_channels = [tuple(channel) for channel in input_channels]
        # The node's process, which says how it ended (by itself, killed, stopped by us).
        self._node: node_client.TfxProcess | None = None
        # For lineage: the upstream artifacts this node is about to read (when lineage is
        # on), and what its execution read and wrote, as ML Metadata recorded it.
        self._expected_inputs: dict[str, list[dict[str, Any]]] = {}
        self._expected_store = ""
        self._node_result: dict[str, Any] = {}

    def node_command(
        self,
        run_id: str,
        *,
        pipeline_ir: str | None = None,
        reply_file: str | None = None,
        runtime_values: Mapping[str, Any] | None = None,
        input_spans: Mapping[str, Any] | None = None,
        data_interval: Mapping[str, Any] | None = None,
        clear_number: int = 0,
    ) -> list[str]:
        """Argument list only: no shell ever sees the run id or any other value."""
        command = [
            str(tfx_envs.resolve(self.tfx_env).python),
            "-m",
            "tfx_dags.runner.node",
            "--pipeline-ir",
            pipeline_ir or self.pipeline_ir,
            "--node-id",
            self.tfx_node_id,
            "--run-id",
            run_id,
        ]
        if reply_file:
            command += [REPLY_OPTION, reply_file]
        if runtime_values:
            command += ["--runtime-parameters-json", json.dumps(dict(runtime_values))]
        if input_spans:
            command += ["--input-spans-json", json.dumps(dict(input_spans))]
        if data_interval:
            command += ["--data-interval-json", json.dumps(dict(data_interval))]
        if self.spans is not None:
            # spans=: the node runner's generations, push guard and baseline apply.
            command += ["--spans", "--clear-number", str(clear_number)]
        return command

    def render_template_fields(self, context: Any, jinja_env: Any = None) -> None:
        """Render the template fields but ``pipeline_ir`` (a path: a ``{{`` or ``{#`` in it
        is no template). Also, before the task starts (and its OpenLineage START event is
        made), read what the upstream tasks wrote for this node's inputs: only when lineage
        is on."""
        rendered = [name for name in self.template_fields if name != "pipeline_ir"]
        self._do_render_template_fields(
            self, rendered, context, jinja_env or self.get_template_env(), set()
        )
        if self.input_channels and lineage_is_on():
            try:
                self._expected_inputs, self._expected_store = expected_inputs(
                    self.input_channels, context["ti"]
                )
            except Exception as error:  # noqa: BLE001 - lineage never fails a task
                self.log.warning("OpenLineage: upstream artifacts not read: %s", error)

    def get_openlineage_facets_on_start(self) -> Any:
        return self._lineage(self._expected_inputs, {"store": self._expected_store})

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        return self._lineage(self._node_result.get("inputs", {}), self._node_result)

    def get_openlineage_facets_on_failure(self, task_instance: Any) -> Any:
        # What the failed execution resolved, if ML Metadata recorded it; else what it was
        # about to read.
        inputs = self._node_result.get("inputs") or self._expected_inputs
        store = self._node_result.get("store") or self._expected_store
        return self._lineage(inputs, {**self._node_result, "store": store})

    def _lineage(self, inputs: Mapping[str, Any], result: Mapping[str, Any]) -> Any:
        from tfx_dags.airflow.openlineage import operator_lineage

        return operator_lineage(
            pipeline=self.dag_id,
            node_id=self.tfx_node_id,
            inputs=inputs,
            outputs=result.get("outputs", {}),
            external_inputs=result.get("external_inputs", ()),
            store=str(result.get("store", "")),
        )

    def execute(self, context: Any) -> dict[str, Any] | None:
        pipeline_ir = self._pipeline_ir(context)
        runtime_values = {} if self.runtime is None else self._runtime_values(self.runtime, context)
        span = self._run_span(context)
        runtime_values.update(self._range_config(span))
        input_spans, data_interval = self._spans_of_run(span)
        returncode, reply = self._run_to_end(
            context["run_id"],
            pipeline_ir,
            runtime_values,
            self.node_environment(),
            input_spans,
            data_interval,
            # A clear of the whole run (a backfill's reprocess) starts a new TFX run of it.
            clear_number=int(getattr(context.get("dag_run"), "clear_number", 0) or 0),
        )
        self._raise_for_outcome(returncode, reply)
        if self.pushed_model_alias is not None:
            self._emit_pushed_model(context, self._node_result)
        # Downstream tasks read it for their START events; off, nothing is written.
        return artifacts_xcom(self._node_result) if lineage_is_on() else None

    def _pipeline_ir(self, context: Any) -> str:
        """The compiled pipeline of this run: the DAG's, or the one compiled with this run's
        parameter values."""
        if self.variant is None:
            return self.pipeline_ir
        try:
            pipeline_ir = self.variant.ir_path(context["params"], self.pipeline_ir)
        except TfxDagsError as error:
            # A bad run parameter, or a pipeline that does not compile with it: the same
            # values fail the same way on a retry.
            params = dict(context["params"])
            raise AirflowFailException(f"run parameters {params}: {error}") from None
        if pipeline_ir != self.pipeline_ir:
            self.log.info("Run parameters %s: pipeline IR %s", dict(context["params"]), pipeline_ir)
        return pipeline_ir

    def node_environment(self) -> dict[str, str]:
        """The node's environment: the allow-listed part of this worker's
        (``tfx_dags.airflow.node_env``: never Airflow's settings, connections or keys), what
        the DAG's task overrides declare over it, then the node's ML Metadata connection. The
        node client sets the TFX environment's declared variables last."""
        try:
            env = {**node_env.allowed(), **self.node_env, **metadata_env()}
        except ConfigError as error:
            # The deployment's setting: a retry on this worker fails the same way.
            raise AirflowFailException(f"the node's environment: {error}") from None
        if self.metadata_store == "deployment":
            env[STORE_ENV] = "deployment"
        return env

    def _run_to_end(
        self,
        run_id: str,
        pipeline_ir: str,
        runtime_values: Mapping[str, Any],
        env: dict[str, str],
        input_spans: Mapping[str, Any] | None = None,
        data_interval: Mapping[str, Any] | None = None,
        *,
        clear_number: int = 0,
    ) -> tuple[int, Reply]:
        """Run the node and wait for it; its return code and reply (a node that wrote none,
        killed by a signal or dead before it replied, reads as failed, saying how it ended).
        What it wrote of its execution is kept for the lineage and the return value."""
        with tempfile.TemporaryDirectory(prefix="tfx-node-") as scratch:
            reply_file = str(Path(scratch) / "reply.json")
            command = self.node_command(
                run_id,
                pipeline_ir=pipeline_ir,
                reply_file=reply_file,
                runtime_values=runtime_values,
                input_spans=input_spans,
                data_interval=data_interval,
                clear_number=clear_number,
            )
            try:
                returncode = self._run_node(command, env)
            except BaseException:
                # Timeouts and kills arrive here as exceptions; the node must not outlive it.
                self.on_kill()
                raise
            try:
                reply = read_reply(reply_file, returncode)
            except NoReply as error:
                reply = Reply(Outcome.FAILED, str(error))
        self._node_result = dict(reply.result or {})
        return returncode, reply

    def _raise_for_outcome(self, returncode: int, reply: Reply) -> None:
        """A skipped node skips the task; any other end but ok fails it, without a retry
        for bad input (the same data fails the same way)."""
        if reply.outcome is Outcome.SKIPPED:
            raise AirflowSkipException(reply.message)
        if not reply.ok:
            message = (
                f"TFX node {self.tfx_node_id} failed with exit code {returncode}: {reply.message}"
            )
            if reply.outcome is Outcome.BAD_INPUT:
                raise AirflowFailException(message)
            raise AirflowException(message)

    def _runtime_values(self, runtime: RuntimeBinding, context: Any) -> dict[str, Any]:
        """This run's RuntimeParameter values. A default that is an Airflow template
        (``{{ ds }}``, as TFX's Airflow runner allowed) is rendered; a value given by the
        trigger never is."""
        try:
            values = runtime.values(context["params"])
        except TfxDagsError as error:
            # The same values fail the same way on a retry.
            raise AirflowFailException(f"run parameters: {error}") from None
        for name, value in values.items():
            if value == runtime.defaults[name] and is_template(value):
                values[name] = self.render_template(value, context)
        return values

    def _run_span(self, context: Any) -> int | None:
        """The span of this run's data interval (``spans=``); None without ``spans=`` or
        for a run without an interval."""
        if self.spans is None:
            return None
        try:
            return self.spans.span(context)
        except IntervalError as error:
            # The run's interval, not the node, is at fault: a retry fails the same way.
            raise AirflowFailException(f"spans: {error}") from None

    def _range_config(self, span: int | None) -> dict[str, str]:
        """The RuntimeParameter value ``spans=`` binds in this run: ExampleGen's
        ``range_config`` of the run's span (none for a run without one: as given)."""
        if self.spans is None:
            return {}
        span_value, line = self.spans.value(span)
        self.log.info("Spans: %s", line)
        return {} if span_value is None else {self.spans.range_config: span_value}

    def _spans_of_run(self, span: int | None) -> tuple[dict[str, Any], dict[str, Any]]:
        """What this node reads of the window of spans ending at its run's (``spans=``'s
        ``window``): by input key, the ExampleGen and its spans (none for most nodes); and
        the run's data interval and span, which the node records in ML Metadata."""
        if self.spans is None:
            return {}, {}
        interval: dict[str, Any] = {}
        if span is not None:
            start, end = self.spans.rule.interval(span)
            interval = {"start": start.isoformat(), "end": end.isoformat(), "span": span}
        windows = self.spans.windows(span, self.node_type, self.input_channels)
        for key, window in windows.items():
            self.log.info(
                "Spans: %s reads spans %d to %d of %s",
                key,
                window["first"],
                window["last"],
                window["producer"],
            )
        return windows, interval

    def _run_node(self, command: list[str], env: dict[str, str]) -> int:
        """Run the node with its output in the task log; its return code."""
        self.log.info("Running command: %s", command)
        self._node = node_client.start(command, env=env)
        served = isinstance(self._node, node_client.ServedProcess)
        how = "forked by the node server" if served else "a new process"
        # Both pids in the log: what an operator (or a fault test) needs to find the node.
        self.log.info(
            "TFX node %s: process %d (%s), task process %d",
            self.tfx_node_id,
            self._node.pid,
            how,
            os.getpid(),
        )
        for line in self._node.output():
            self.log.info("%s", line)
        return self._node.wait()

    def _emit_pushed_model(self, context: Any, node_result: Mapping[str, Any]) -> None:
        if node_result.get("reused"):
            self.log.info("The push was done by an earlier attempt of this run: no new event.")
            return
        for artifact in node_result.get("outputs", {}).get("pushed_model", []):
            properties = artifact.get("custom_properties", {})
            if properties.get("pushed") != 1:
                self.log.info("The Pusher pushed no model: no asset event.")
                continue
            destination = str(properties.get("pushed_destination", ""))
            asset = Asset(uri=f"file://{Path(destination).parent}")
            extra = {
                "pipeline": self.dag_id,
                "pushed_destination": destination,
                "pushed_version": str(properties.get("pushed_version", "")),
                "mlmd_artifact_id": artifact.get("id"),
            }
            if node_result.get("model_spans"):
                # spans=: which spans the pushed model was trained on.
                extra["trained_on_spans"] = list(node_result["model_spans"])
            context["outlet_events"][self.pushed_model_alias].add(asset, extra=extra)
            self.log.info("Asset event for the pushed model: %s %s", asset.uri, extra)

    def close_unfinished_execution(self, context: Any) -> None:
        """When the task fails with no retry left: what its node left NEW or RUNNING in ML
        Metadata becomes FAILED (``tfx_dags.queries.close_execution``), since no retry will
        take it up. Airflow calls it in the task's process (after a timeout, a kill, or a node
        killed by a signal: the out-of-memory killer) or, for a lost worker, in the DAG
        processor, on a fresh operator that cannot tell whether a node ran: it asks. A node
        that exited by itself had TFX close its execution. Never raises: the task's own error
        is the one to see."""
        if self._node is not None and self._node.ending is not None and self._node.ending.by_itself:
            return  # the node ran to its own end: TFX closed its execution
        run_id = str(context["run_id"])
        try:
            pipeline_ir = self._pipeline_ir(context)
        except AirflowException:
            pipeline_ir = self.pipeline_ir
        reason = f"task {self.task_id} of run {run_id} failed with its node unfinished"
        try:
            closed = mlmd_query.ask(
                "tfx_dags.queries.close_execution",
                *("--pipeline-ir", pipeline_ir, "--node-id", self.tfx_node_id),
                *("--run-id", run_id, "--reason", reason),
                tfx_env=self.tfx_env,
                environ=self.node_environment(),
                connection=False,
            )
        except (TfxDagsError, AirflowException) as error:
            self.log.warning("ML Metadata: the node's unfinished execution not closed: %s", error)
            return
        if closed:
            self.log.warning(
                "ML Metadata: execution(s) %s of node %s, left unfinished, closed as FAILED",
                closed,
                self.tfx_node_id,
            )

    def on_kill(self) -> None:
        if self._node is not None:
            self._node.terminate(grace_s=settings.kill_grace_s())


def close_killed_execution(context: Any) -> None:
    """Every TFX task's failure callback: ``TfxNodeOperator.close_unfinished_execution``."""
    context["task"].close_unfinished_execution(context)


def metadata_env() -> dict[str, str]:
    """ML Metadata's URI from the Airflow connection, if one is configured; else nothing (the
    node then uses TFX_DAGS_METADATA_URI from its environment, or SQLite)."""
    try:
        connection = BaseHook.get_connection(settings.metadata_conn_id())
    except AirflowNotFoundException:
        return {}
    return {URI_ENV: connection.get_uri()}


def lineage_is_on() -> bool:
    """Whether Airflow's OpenLineage provider emits events (installed and configured)."""
    try:
        from airflow.providers.openlineage.conf import is_disabled
    except ImportError:
        return False
    return not is_disabled()


def expected_inputs(
    channels: Sequence[Sequence[str]], task_instance: Any
) -> tuple[dict[str, list[dict[str, Any]]], str]:
    """The artifacts the upstream tasks of this run wrote for each input key (from their
    return values), before TFX resolves the node's inputs itself; and their store."""
    producers = sorted({producer for _, producer, _ in channels})
    pulled = task_instance.xcom_pull(task_ids=producers, key="return_value")
    results = pulled if isinstance(pulled, list) else [pulled]
    by_producer = {
        producer: result or {} for producer, result in zip(producers, results, strict=False)
    }
    inputs: dict[str, list[dict[str, Any]]] = {}
    for key, producer, output_key in channels:
        outputs = by_producer.get(producer, {}).get("outputs", {})
        inputs.setdefault(key, []).extend(outputs.get(output_key, []))
    stores = [str(result.get("store")) for result in by_producer.values() if result.get("store")]
    return {key: found for key, found in inputs.items() if found}, (stores[0] if stores else "")


def artifacts_xcom(result: Mapping[str, Any]) -> dict[str, Any]:
    """The task's return value: its node's ML Metadata execution and output artifacts."""
    return {
        "execution_id": result.get("execution_id"),
        "outputs": result.get("outputs", {}),
        "reused": bool(result.get("reused")),
        "store": result.get("store", ""),
    }
