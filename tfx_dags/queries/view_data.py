"""What the Airflow TFX view shows, read from ML Metadata and the artifacts (TFX environment).

    python -m tfx_dags.queries.view_data pipelines --reply FILE [--own NAME=IR ...]
    python -m tfx_dags.queries.view_data pipeline --pipeline NAME --reply FILE [--runs N]
    python -m tfx_dags.queries.view_data run --pipeline NAME --run-id RUN --reply FILE
    python -m tfx_dags.queries.view_data evaluation --pipeline NAME --artifact-id N --reply FILE
    python -m tfx_dags.queries.view_data artifact --pipeline NAME --artifact-id N --reply FILE

Each writes its reply to FILE (``common.reply``: the JSON document, or ``not_found`` or
``failed`` with the reason; stdout stays free for TensorFlow's chatter). A
pipeline's questions take ``--pipeline-root`` (default ``settings.pipeline_root``) and, for a
pipeline that declares its own ML Metadata store, ``--pipeline-ir`` (its compiled IR, which
holds the store's connection): what the DAG's compiled manifest says. Its runs are read
from the deployment's store where the pipeline ran with that one, else from its own.
Stores are opened read-only where ML Metadata allows it (SQLite), and only read anyway.
Files are read only from artifacts whose URI lies under the pipeline's root: an artifact
elsewhere is listed, never opened.
"""

from __future__ import annotations

import argparse
import re
import sys
import traceback
from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tfx_dags.common import settings
from tfx_dags.common.errors import TfxDagsError
from tfx_dags.common.reply import REPLY_OPTION, Outcome, Reply, write_reply
from tfx_dags.mlmd import artifacts, contexts, events, executions
from tfx_dags.mlmd.connection import (
    PipelineStores,
    StoreMissing,
    describe,
    describe_config,
    open_pipeline_store,
    open_read_only,
    pipeline_store_config,
)
from tfx_dags.mlmd.records import Artifact, Io, NodeRun, PipelineRun
from tfx_dags.queries.artifact_summaries import (
    anomalies_summary,
    evaluation_summary,
    overall_candidate_metrics,
    schema_summary,
    statistics_summary,
)

EVALUATION_TYPE = "ModelEvaluation"
STATISTICS_TYPE = "ExampleStatistics"
ANOMALIES_TYPE = "ExampleAnomalies"
SCHEMA_TYPE = "Schema"
# The model history lists the newest models only (with their evaluations and pushes).
MAX_MODELS = 50
# Pipeline names are DAG ids; anything else is refused before it reaches a filter query.
SAFE_NAME = re.compile(r"[A-Za-z0-9_.\-]+")


class NotFound(TfxDagsError):
    """The pipeline, run or artifact asked for is not in ML Metadata."""


class StoreUnreadable(TfxDagsError):
    """An ML Metadata store could not be opened; the message says which, without credentials."""


def open_store_read_only(config: Any = None) -> Any:
    """The deployment's store (or ``config``, a pipeline's own), read-only. StoreMissing
    where its SQLite file does not exist yet; StoreUnreadable naming the store otherwise."""
    try:
        return open_read_only(config)
    except StoreMissing:
        raise
    except Exception as error:  # noqa: BLE001 - said with the store, for the view's one line
        where = describe() if config is None else describe_config(config)
        raise StoreUnreadable(f"ML Metadata at {where}: {type(error).__name__}: {error}") from None


class ViewData:
    """The view's pages, rendered from the read model of one ML Metadata store
    (``tfx_dags.mlmd.records``). ``root``: the pipeline root of the pipeline asked about
    (default ``settings.pipeline_root``)."""

    def __init__(self, store: Any, *, root: Path | None = None) -> None:
        self._store = store
        self._root = root

    @classmethod
    def of_deployment(cls) -> ViewData:
        """On the deployment's store, opened read-only."""
        try:
            return cls(open_store_read_only())
        except StoreMissing as error:
            raise NotFound(str(error)) from None

    @classmethod
    def of_pipeline(
        cls, name: str, *, root: Path | None = None, pipeline_ir: Path | None = None
    ) -> ViewData:
        """On the store that holds the pipeline's runs, read-only: the deployment's where
        the pipeline has run with it (every pipeline without a store of its own, and one
        whose DAG sets its own aside: ``metadata_store="deployment"``), else the store its
        compiled IR ``pipeline_ir`` declares (a TFX runner's file keeps its own)."""
        _check_name(name)
        try:
            store = open_pipeline_store(name, pipeline_ir, opener=open_store_read_only)
        except StoreMissing as error:
            raise NotFound(str(error)) from None
        return cls(store, root=root)

    def has_pipeline(self, name: str) -> bool:
        return contexts.has_pipeline(self._store, name)

    def root_of(self, name: str) -> Path:
        return self._root if self._root is not None else settings.pipeline_root(name)

    # -- pipelines and their runs -------------------------------------------------------

    def pipelines(self) -> list[str]:
        return contexts.pipelines(self._store)

    def tfx_lines(self) -> dict[str, str]:
        return contexts.tfx_lines(self._store)

    def pipeline(self, name: str, *, runs: int = 25) -> dict[str, Any]:
        """The newest ``runs`` runs with each node's state, and the newest models' history.
        Bounded work: ML Metadata is asked for the newest run contexts and models only."""
        _check_name(name)
        if not self.has_pipeline(name):
            raise NotFound(f"pipeline {name!r} has no runs in ML Metadata")
        run_contexts = contexts.run_contexts(self._store, name, safe_name=True)
        summaries = []
        for context in run_contexts[:runs]:
            run = self._run(name, context)
            if run is None:
                continue  # a run whose first node has not started yet
            summaries.append(
                {
                    "run_id": context.name,
                    "started_ms": run.started_ms,
                    "nodes": {node_id: _state_summary(node) for node_id, node in run.nodes.items()},
                }
            )
        return {
            "pipeline": name,
            "tfx_line": self.tfx_lines().get(name, ""),
            "root": str(self.root_of(name)),
            "run_count": len(run_contexts),
            "runs": summaries,
            "models": self._model_history(name),
        }

    def run(self, name: str, run_id: str) -> dict[str, Any]:
        """Every node of one run: state, attempts, exec properties, artifacts; plus a
        summary of each artifact the view can read (statistics, anomalies, schema,
        evaluation)."""
        context = contexts.run_context(self._store, name, run_id)
        run = self._run(name, context) if context is not None else None
        if run is None:
            raise NotFound(f"pipeline {name!r} has no run {run_id!r} in ML Metadata")
        every = events.of_executions(
            self._store, (e.id for node in run.nodes.values() for e in node.attempts)
        )
        io = events.io(every)
        found = artifacts.by_id(self._store, (event.artifact_id for event in every))
        root = self.root_of(name)
        nodes = []
        for node_id, node_run in run.nodes.items():
            latest = node_run.latest
            mine = io.get(latest.id, Io())
            nodes.append(
                {
                    "node_id": node_id,
                    "type": latest.type.rsplit(".", 1)[-1],
                    **_state_summary(node_run),
                    "started_ms": latest.started_ms,
                    "finished_ms": latest.finished_ms,
                    "properties": dict(latest.properties),
                    "inputs": _keyed(mine.inputs, found, root),
                    "outputs": _keyed(mine.outputs, found, root),
                }
            )
        nodes.sort(key=lambda node: node["started_ms"])
        summaries = {}
        for node in nodes:
            for artifact in _all(node["outputs"]):
                summary = _summary(artifact)
                if summary is not None:
                    summaries[str(artifact["id"])] = summary
        return {
            "pipeline": name,
            "root": str(root),
            "run_id": run_id,
            "nodes": nodes,
            "summaries": summaries,
        }

    def artifact(self, name: str, artifact_id: int) -> dict[str, Any]:
        """One artifact of the pipeline, with its URI checked against the pipeline root."""
        found = artifacts.by_id(self._store, {artifact_id})
        if artifact_id not in found or not contexts.artifact_in_pipeline(
            self._store, name, artifact_id
        ):
            raise NotFound(f"pipeline {name!r} has no artifact {artifact_id}")
        return describe_artifact(found[artifact_id], self.root_of(name))

    def evaluation(self, name: str, artifact_id: int) -> dict[str, Any]:
        """Metrics per slice and model, and the validation checks, of a ModelEvaluation."""
        artifact = self.artifact(name, artifact_id)
        if artifact["type"] != EVALUATION_TYPE:
            raise NotFound(f"artifact {artifact_id} is a {artifact['type']}, not an evaluation")
        if not artifact["readable"]:
            raise NotFound(f"artifact {artifact_id} lies outside the pipeline root")
        return evaluation_summary(artifact["uri"])

    # -- reading -------------------------------------------------------------------------

    def _run(self, name: str, context: Any) -> PipelineRun | None:
        """The run of this context, None where no node of it has started yet."""
        found = executions.runs(self._store, name, executions.of_run(self._store, context))
        return found.get(context.name)

    def _model_history(self, name: str, *, limit: int = MAX_MODELS) -> list[Any]:
        """Every model the pipeline trained, newest first: each evaluation of it (the run,
        the baseline, the blessing), whether any blessed it, the overall metrics of the
        latest evaluation, and every push of it."""
        newest = artifacts.newest_of_type(self._store, name, "Model", limit=limit, safe_name=True)
        if not newest:
            return []
        history = _ModelHistory(self._store, newest, self.root_of(name))
        models = history.models()
        history.add_evaluations(models)
        history.add_pushes(models)
        for model in models.values():
            _conclude(model)
        return sorted(models.values(), key=lambda m: m["id"], reverse=True)


def describe_artifact(artifact: Artifact, root: Path) -> dict[str, Any]:
    """An artifact as the view lists it."""
    readable = under_root(artifact.uri, root)
    return {
        "id": artifact.id,
        "type": artifact.type,
        "uri": artifact.uri,
        # Relative to the pipeline root where it lies under it; None where it does not.
        "path": str(Path(artifact.uri).resolve().relative_to(root.resolve())) if readable else None,
        "readable": readable,
        "state": artifact.state,
        "created_ms": artifact.created_ms,
        "properties": {**artifact.properties, **artifact.custom_properties},
    }


class _ModelHistory:
    """The lineage around some models, read once: every execution that made or used one of
    them (Trainer, Evaluators, Pushers) and everything those executions read and wrote."""

    def __init__(self, store: Any, models: list[Artifact], root: Path) -> None:
        self._root = root
        used = events.of_artifacts(store, (model.id for model in models))
        self.events = events.of_executions(store, (e.execution_id for e in used))
        self.artifacts = artifacts.by_id(store, (e.artifact_id for e in self.events))
        self.produced = events.producers(self.events)
        self._contexts = contexts.ExecutionContexts(store)
        self._runs: dict[int, str | None] = {}

    def run_of(self, execution_id: int) -> str | None:
        if execution_id not in self._runs:
            self._runs[execution_id] = self._contexts.run_of(execution_id)
        return self._runs[execution_id]

    def kind(self, artifact_id: int) -> str:
        return self.artifacts[artifact_id].type

    def described(self, artifact_id: int, execution_id: int) -> dict[str, Any]:
        """The artifact as the view lists it, with the run of the execution that made it."""
        artifact = self.artifacts[artifact_id]
        return {**describe_artifact(artifact, self._root), "run_id": self.run_of(execution_id)}

    def models(self) -> dict[int, dict[str, Any]]:
        """The models made here, by id, each with empty evaluations and pushes."""
        return {
            artifact_id: {
                **self.described(artifact_id, execution_id),
                "evaluations": [],
                "pushes": [],
            }
            for artifact_id, execution_id in sorted(self.produced.items())
            if self.kind(artifact_id) == "Model"
        }

    def add_evaluations(self, models: dict[int, dict[str, Any]]) -> None:
        """Each Evaluator execution of a model: its evaluation and blessing, against a
        baseline, in the order they were made."""
        # The blessing names the model it judged: when the candidate is also the baseline
        # (a re-evaluation), ML Metadata keeps one input event, under either key.
        judged = {
            execution_id: _int(self.artifacts[artifact_id].custom_properties["current_model_id"])
            for artifact_id, execution_id in self.produced.items()
            if "current_model_id" in self.artifacts[artifact_id].custom_properties
        }
        inputs_of: dict[int, dict[str, int]] = defaultdict(dict)
        for execution_id, io in events.io(self.events).items():
            for key, ids in io.inputs.items():
                inputs_of[execution_id][key] = ids[-1]
        evaluations: dict[int, dict[str, Any]] = {}
        for artifact_id, execution_id in sorted(self.produced.items()):
            kind = self.kind(artifact_id)
            inputs = inputs_of[execution_id]
            model = models.get(judged.get(execution_id, inputs.get("model", -1)))
            if model is None or kind not in ("ModelBlessing", EVALUATION_TYPE):
                continue
            if execution_id not in evaluations:
                evaluations[execution_id] = {
                    "run_id": self.run_of(execution_id),
                    "baseline_model_id": inputs.get("baseline_model"),
                    "evaluation": None,
                    "blessing": None,
                }
                model["evaluations"].append(evaluations[execution_id])
            slot = "blessing" if kind == "ModelBlessing" else "evaluation"
            evaluations[execution_id][slot] = self.described(artifact_id, execution_id)

    def add_pushes(self, models: dict[int, dict[str, Any]]) -> None:
        """Every push of a model (``artifacts.pushes``), with the run that pushed it: a
        cached Pusher outputs the push made earlier, which is listed once, with its run."""
        for push in artifacts.pushes(self.events, self.artifacts):
            model = models.get(push.model_id if push.model_id is not None else -1)
            if model is not None and push.made_here:
                model["pushes"].append(self.described(push.pushed_model_id, push.execution_id))


def _int(value: Any) -> int:
    """An int property as ML Metadata's ``int_value`` reads it: 0 where it is no int."""
    return value if isinstance(value, int) else 0


def _conclude(model: dict[str, Any]) -> None:
    """Newest evaluation first; blessed if any evaluation blessed it; the overall metrics of
    the latest evaluation, where its files can be read."""
    model["evaluations"].reverse()
    model["blessed"] = any(
        (e["blessing"] or {}).get("properties", {}).get("blessed") == 1
        for e in model["evaluations"]
    )
    model["metrics"] = {}
    latest = model["evaluations"][0]["evaluation"] if model["evaluations"] else None
    if latest and latest["readable"] and latest["state"] == "LIVE":
        model["metrics"] = overall_candidate_metrics(latest["uri"])


def _check_name(name: str) -> None:
    if not SAFE_NAME.fullmatch(name):
        raise NotFound(f"{name!r} is not a pipeline name")


def _summary(artifact: dict[str, Any]) -> Any:
    if not artifact["readable"] or artifact["state"] != "LIVE":
        return None
    readers = {
        STATISTICS_TYPE: statistics_summary,
        ANOMALIES_TYPE: anomalies_summary,
        SCHEMA_TYPE: schema_summary,
        EVALUATION_TYPE: evaluation_summary,
    }
    reader = readers.get(artifact["type"])
    return reader(artifact["uri"]) if reader else None


def _state_summary(node: NodeRun) -> dict[str, Any]:
    return {
        "execution_id": node.latest.id,
        "state": node.latest.state,
        "cached": node.cached,
        "attempts": node.states,
    }


def _keyed(
    keyed: Mapping[str, tuple[int, ...]], found: dict[int, Artifact], root: Path
) -> dict[str, list[dict[str, Any]]]:
    """The artifacts (those ML Metadata has) by key, as the view lists them."""
    by_key: dict[str, list[dict[str, Any]]] = {}
    for key, ids in keyed.items():
        listed = [describe_artifact(found[i], root) for i in ids if i in found]
        if listed:
            by_key[key] = listed
    return by_key


def _all(keyed: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    return [artifact for artifacts in keyed.values() for artifact in artifacts]


def under_root(uri: str, root: Path) -> bool:
    """Whether ``uri`` is a local path inside ``root`` once links and ``..`` are resolved."""
    if "://" in uri or not uri:
        return False
    return Path(uri).resolve().is_relative_to(root.resolve())


def pipelines(*, own: dict[str, Path]) -> dict[str, Any]:
    """The pipelines with runs, and each one's TFX line where recorded: the deployment
    store's, and those of ``own`` (name: compiled IR of a pipeline with its own store) whose
    runs are in their own store (``PipelineStores.of_pipeline``'s rule: none in the
    deployment's). Each store is opened once, however many pipelines keep it. An own store
    that cannot be read leaves its pipeline out, said on stderr: one broken pipeline never
    hides the others."""
    names: set[str] = set()
    lines: dict[str, str] = {}
    stores = PipelineStores(open_store_read_only)
    try:
        deployment = ViewData(stores.deployment())
        names.update(deployment.pipelines())
        lines.update(deployment.tfx_lines())
    except StoreMissing:
        pass  # nothing ran with the deployment's store yet
    for name, pipeline_ir in sorted(own.items()):
        if name in names or not SAFE_NAME.fullmatch(name):
            continue
        try:
            config = pipeline_store_config(pipeline_ir)
            if config is None:
                continue
            data = ViewData(stores.of_pipeline(name, config))
            if data.has_pipeline(name):
                names.add(name)
                if name in (recorded := data.tfx_lines()):
                    lines[name] = recorded[name]
        except StoreMissing:
            continue  # its own store has no file yet: no runs
        except Exception as error:  # noqa: BLE001 - see the docstring
            print(f"tfx_dags view: pipeline {name!r} left out: {error}", file=sys.stderr)
    return {"pipelines": sorted(names), "tfx_lines": lines}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("query", choices=("pipelines", "pipeline", "run", "evaluation", "artifact"))
    parser.add_argument("--pipeline")
    parser.add_argument("--run-id")
    parser.add_argument("--artifact-id", type=int)
    parser.add_argument("--runs", type=int, default=25)
    parser.add_argument("--pipeline-root", type=Path, help="default: settings.pipeline_root")
    parser.add_argument("--pipeline-ir", type=Path, help="where the pipeline's own store is")
    parser.add_argument(
        "--own",
        action="append",
        default=[],
        metavar="NAME=IR",
        help="pipelines: a pipeline with its own store, and its compiled IR (repeatable)",
    )
    parser.add_argument(REPLY_OPTION, required=True)
    args = parser.parse_args(argv)
    try:
        reply = Reply(Outcome.OK, result=answer(args))
    except NotFound as error:
        reply = Reply(Outcome.NOT_FOUND, str(error))
    except StoreUnreadable as error:
        traceback.print_exc()
        reply = Reply(Outcome.FAILED, str(error))
    except Exception as error:  # noqa: BLE001 - the view shows why, in one line
        traceback.print_exc()
        reply = Reply(Outcome.FAILED, f"{_where()}: {type(error).__name__}: {error}")
    return write_reply(args.reply, reply)


def _where() -> str:
    """Where ML Metadata is, without credentials."""
    try:
        return f"ML Metadata at {describe()}"
    except Exception:  # noqa: BLE001 - saying where must not hide the failure it is for
        return "ML Metadata"


def answer(args: argparse.Namespace) -> Any:
    if args.query == "pipelines":
        own = dict(entry.partition("=")[::2] for entry in args.own)
        return pipelines(own={name: Path(ir) for name, ir in own.items()})
    if not args.pipeline:
        raise SystemExit(f"{args.query} needs --pipeline")
    data = ViewData.of_pipeline(
        args.pipeline, root=args.pipeline_root, pipeline_ir=args.pipeline_ir
    )
    if args.query == "pipeline":
        return data.pipeline(args.pipeline, runs=args.runs)
    if args.query == "run":
        if not args.run_id:
            raise SystemExit("run needs --run-id")
        return data.run(args.pipeline, args.run_id)
    if args.artifact_id is None:
        raise SystemExit(f"{args.query} needs --artifact-id")
    if args.query == "evaluation":
        return data.evaluation(args.pipeline, args.artifact_id)
    return data.artifact(args.pipeline, args.artifact_id)


if __name__ == "__main__":
    sys.exit(main())
