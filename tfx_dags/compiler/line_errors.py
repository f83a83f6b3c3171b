"""What differs between the TFX lines a deployment runs, said in the user's terms.

TFX 1.16 (TF 2.16) removed the Estimator Trainer executor and the Kubeflow V1 runner; a
pipeline written for 1.15 that uses them fails with a bare AttributeError or ImportError deep
in the user's file. ``explain`` turns such an error into one that names what was removed, in
which TFX line, and what to do.
"""

from __future__ import annotations

from tfx_dags.common.tfx_envs import tfx_version

ESTIMATOR_EXECUTOR = "tfx.components.trainer.executor.Executor"
ESTIMATOR_FIX = (
    "TFX 1.16 removed the Estimator Trainer executor ({api}) with TF 2.16's Estimators, so an "
    "Estimator trainer_fn runs only in a TFX 1.15 environment: give this DAG tfx_env= of a "
    "TFX 1.15 environment (TFX_DAGS_TFX_ENVS), or port the module to a Keras run_fn"
)
# Removed in TFX 1.16: (what the error names, what it was, what to do instead).
REMOVED = (
    (
        "'tfx.components.trainer.executor' has no attribute 'Executor'",
        ESTIMATOR_FIX.format(api=ESTIMATOR_EXECUTOR),
    ),
    (
        "cannot import name 'Executor' from 'tfx.components.trainer.executor'",
        ESTIMATOR_FIX.format(api=ESTIMATOR_EXECUTOR),
    ),
    (
        "No module named 'tfx.orchestration.kubeflow.kubeflow_dag_runner'",
        "TFX 1.16 removed KubeflowDagRunner (Kubeflow Pipelines V1); use a TFX 1.15 environment "
        "or KubeflowV2DagRunner",
    ),
)


def _this_tfx() -> str:
    return f"this environment has TFX {tfx_version() or '(not installed)'}"


def estimator_executor_missing() -> str:
    """Why this environment cannot run an Estimator trainer_fn."""
    return f"{_this_tfx()}: " + ESTIMATOR_FIX.format(api=ESTIMATOR_EXECUTOR)


def explain(error: BaseException) -> str | None:
    """The reason and the fix, when ``error`` (or what caused it) is an API of an older TFX
    line missing from this one; None otherwise."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, AttributeError | ImportError):
            for symptom, fix in REMOVED:
                if symptom in str(current):
                    return f"{_this_tfx()}: {fix} ({current})"
        current = current.__cause__ or current.__context__
    return None
