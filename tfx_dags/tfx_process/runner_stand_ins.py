"""Stand-ins for TFX's runners: a file that hands its pipeline to a runner runs as written,
and the runner records the pipeline instead of running it.

TFX users end their pipeline files with ``LocalDagRunner().run(...)``,
``BeamDagRunner().run(...)``, ``KubeflowV2DagRunner(config).run(...)`` or
``AirflowDagRunner(config).run(...)``. Each stand-in takes what its runner takes and
records the pipeline, the runner's name and what its settings were. TFX's own modules cannot
serve: the Airflow runner imports Airflow 2 and the Kubeflow runners need ``kfp``, neither in
a TFX environment, and the local and Beam runners would run the pipeline.

The stand-ins replace the runner modules in ``sys.modules`` and the names ``tfx.v1``
exports, imported already or not, so every spelling of a runner reaches one: the
``tfx.orchestration...`` modules and ``tfx.v1.orchestration...`` names.
"""

from __future__ import annotations

import sys
import types
from dataclasses import dataclass, field
from typing import Any

AIRFLOW = "tfx.orchestration.airflow.airflow_dag_runner"
LOCAL = "tfx.orchestration.local.local_dag_runner"
BEAM = "tfx.orchestration.beam.beam_dag_runner"
KUBEFLOW = "tfx.orchestration.kubeflow.kubeflow_dag_runner"
KUBEFLOW_V2 = "tfx.orchestration.kubeflow.v2.kubeflow_v2_dag_runner"

# What ``tfx.v1.orchestration`` and its ``experimental`` export, from which runner module.
V1_NAMES = {
    "tfx.v1.orchestration": {"LocalDagRunner": LOCAL},
    "tfx.v1.orchestration.experimental": {
        "KubeflowDagRunner": KUBEFLOW,
        "KubeflowDagRunnerConfig": KUBEFLOW,
        "get_default_kubeflow_metadata_config": KUBEFLOW,
        "LABEL_KFP_SDK_ENV": KUBEFLOW,
        "KubeflowV2DagRunner": KUBEFLOW_V2,
        "KubeflowV2DagRunnerConfig": KUBEFLOW_V2,
    },
}


@dataclass
class CapturedRun:
    """One pipeline handed to a runner's ``run``."""

    runner: str
    pipeline: Any
    # AirflowDagRunner's airflow_dag_config: the DAG settings tfx_dags carries over.
    dag_config: dict[str, Any] = field(default_factory=dict)
    # The runner's own settings, which only its orchestrator used (images, Kubeflow and
    # Vertex configs, Beam orchestrator args): their names, ignored with a log line.
    ignored: list[str] = field(default_factory=list)


class _Config:
    """A runner config: keeps the keyword arguments it was given."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args = args
        self.kwargs = kwargs

    def setting_names(self, prefix: str) -> list[str]:
        names = [f"{prefix}.{name}" for name in sorted(self.kwargs)]
        return names + ([f"{prefix}(positional)"] if self.args else [])


def _setting_names(arguments: dict[str, Any]) -> list[str]:
    """The settings a runner was given, by name; a config object's own settings dotted."""
    names = []
    for name, value in arguments.items():
        if value is None:
            continue
        if isinstance(value, _Config):
            names += value.setting_names(name) or [name]
        else:
            names.append(name)
    return names


def install_runner_stand_ins() -> list[CapturedRun]:
    """Put the stand-ins where TFX's runners would be imported from; return the list their
    runs are recorded in."""
    captured: list[CapturedRun] = []
    modules = {
        AIRFLOW: _airflow_module(captured),
        LOCAL: _simple_module(LOCAL, "LocalDagRunner", captured),
        BEAM: _simple_module(BEAM, "BeamDagRunner", captured),
        KUBEFLOW: _kubeflow_module(captured),
        KUBEFLOW_V2: _kubeflow_v2_module(captured),
    }
    for name, module in modules.items():
        sys.modules[name] = module
        parent, _, leaf = name.rpartition(".")
        if parent in sys.modules:
            setattr(sys.modules[parent], leaf, module)
    for exporter, names in V1_NAMES.items():
        if exporter in sys.modules:
            for name, source in names.items():
                setattr(sys.modules[exporter], name, getattr(modules[source], name))
    return captured


def _module(name: str, **members: Any) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__doc__ = "tfx_dags' stand-in: records the pipeline instead of running it."
    for member, value in members.items():
        setattr(module, member, value)

    def __getattr__(attribute: str) -> Any:
        raise AttributeError(
            f"tfx_dags stands in for {name} (it records the pipeline a file hands to its "
            f"runner) and has no {attribute!r}; it has {sorted(members)}"
        )

    module.__getattr__ = __getattr__  # type: ignore[method-assign]
    return module


def pipeline_name(pipeline: Any) -> str:
    """The name a recorded pipeline says it has (a stand-in's or a test's object too)."""
    info = getattr(pipeline, "pipeline_info", None)
    return str(getattr(info, "pipeline_name", type(pipeline).__name__))


def _recording_runner(runner: str, captured: list[CapturedRun]) -> type:
    """A runner that takes any settings and records the pipeline its ``run`` gets, with the
    names of those settings (LocalDagRunner, BeamDagRunner, KubeflowDagRunner)."""

    class Runner:
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            self.settings = _setting_names(kwargs) + (["(positional)"] if args else [])

        def run(self, pipeline: Any, *args: Any, **kwargs: Any) -> None:
            ignored = self.settings + [f"run.{name}" for name in sorted(kwargs)]
            captured.append(CapturedRun(runner, pipeline, ignored=ignored))

    Runner.__name__ = Runner.__qualname__ = runner
    return Runner


def _simple_module(name: str, runner: str, captured: list[CapturedRun]) -> types.ModuleType:
    """LocalDagRunner() and BeamDagRunner(beam_orchestrator_args=..., config=...)."""
    return _module(name, **{runner: _recording_runner(runner, captured)})


def _airflow_module(captured: list[CapturedRun]) -> types.ModuleType:
    class AirflowPipelineConfig:
        def __init__(self, airflow_dag_config: dict[str, Any] | None = None, **kwargs: Any):
            self.airflow_dag_config = dict(airflow_dag_config or {})
            self.kwargs = kwargs

    class AirflowDagRunner:
        def __init__(self, config: Any = None) -> None:
            if config is not None and not isinstance(config, AirflowPipelineConfig):
                config = AirflowPipelineConfig(airflow_dag_config=config)
            self.config = config or AirflowPipelineConfig()

        def run(self, tfx_pipeline: Any) -> str:
            captured.append(
                CapturedRun(
                    "AirflowDagRunner",
                    tfx_pipeline,
                    dag_config=self.config.airflow_dag_config,
                    ignored=[f"config.{name}" for name in sorted(self.config.kwargs)],
                )
            )
            # The file keeps a module-level name for Airflow 2's DagBag; nothing reads it.
            return f"<TFX pipeline {pipeline_name(tfx_pipeline)}, run by tfx_dags>"

    return _module(
        AIRFLOW, AirflowPipelineConfig=AirflowPipelineConfig, AirflowDagRunner=AirflowDagRunner
    )


def _kubeflow_module(captured: list[CapturedRun]) -> types.ModuleType:
    """KubeflowDagRunner(output_dir, output_filename, config, pod_labels_to_attach)."""

    class KubeflowDagRunnerConfig(_Config):
        pass

    def get_default_kubeflow_metadata_config() -> _Config:
        # Kubeflow's own metadata service; the DAG uses its deployment's store instead.
        return _Config()

    return _module(
        KUBEFLOW,
        KubeflowDagRunner=_recording_runner("KubeflowDagRunner", captured),
        KubeflowDagRunnerConfig=KubeflowDagRunnerConfig,
        get_default_kubeflow_metadata_config=get_default_kubeflow_metadata_config,
        # TFX's pod label for the SDK that made a pipeline (tfx.utils.telemetry_utils).
        LABEL_KFP_SDK_ENV="pipelines.kubeflow.org/pipeline-sdk-type",
    )


def _kubeflow_v2_module(captured: list[CapturedRun]) -> types.ModuleType:
    """KubeflowV2DagRunner(config, output_dir, output_filename); run(pipeline,
    parameter_values, write_out)."""

    class KubeflowV2DagRunnerConfig(_Config):
        pass

    class KubeflowV2DagRunner:
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            if args:
                kwargs = {"config": args[0], **kwargs}
            self.settings = _setting_names(kwargs)

        def run(self, pipeline: Any, *args: Any, **kwargs: Any) -> None:
            ignored = self.settings + [f"run.{name}" for name in sorted(kwargs)]
            captured.append(CapturedRun("KubeflowV2DagRunner", pipeline, ignored=ignored))

    return _module(
        KUBEFLOW_V2,
        KubeflowV2DagRunner=KubeflowV2DagRunner,
        KubeflowV2DagRunnerConfig=KubeflowV2DagRunnerConfig,
    )
