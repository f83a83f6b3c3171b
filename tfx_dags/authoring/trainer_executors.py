"""Pick TFX's Trainer executor from the user's module: ``run_fn`` or ``trainer_fn``.

``run_fn(fn_args)`` runs under TFX's GenericExecutor (native Keras, or anything that saves a
SavedModel); ``trainer_fn(fn_args, schema)`` returns an Estimator and its specs and runs under
TFX's Estimator executor (Estimators, and Keras models wrapped with ``model_to_estimator``).
The module is read with ``ast``, not imported, so the choice costs no TensorFlow import and a
syntax error is reported with its file and line. Used by pipeline definitions in the TFX
environment; nothing here imports TFX at module level.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
from pathlib import Path
from typing import Any, Literal

from tfx_dags.common.errors import ConfigError

TrainerFunction = Literal["run_fn", "trainer_fn"]
TRAINER_FUNCTIONS: tuple[TrainerFunction, ...] = ("run_fn", "trainer_fn")
EXECUTORS = {"generic": "run_fn", "estimator": "trainer_fn"}


class TrainerModuleError(ConfigError):
    """The trainer module is missing, unparsable or defines no usable entry point."""


def module_path(module: str) -> Path:
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError) as error:
        raise TrainerModuleError(f"cannot locate trainer module {module!r}: {error}") from None
    if spec is None or not spec.origin or not Path(spec.origin).is_file():
        raise TrainerModuleError(f"trainer module {module!r} not found")
    return Path(spec.origin)


def trainer_function(module: str, executor: str = "auto") -> TrainerFunction:
    """Which entry point the module's Trainer runs: ``run_fn`` or ``trainer_fn``.

    Args:
        module: dotted module path, e.g. ``"modules.penguin.model"``.
        executor: ``"auto"`` (default) picks from what the module defines, ``run_fn`` first;
            ``"generic"`` requires ``run_fn``; ``"estimator"`` requires ``trainer_fn``.
    """
    if executor != "auto" and executor not in EXECUTORS:
        raise TrainerModuleError(
            f"executor={executor!r} is not one of 'auto', 'generic', 'estimator'"
        )
    path = module_path(module)
    defined = top_level_functions(path)
    wanted: tuple[TrainerFunction, ...] = (
        TRAINER_FUNCTIONS if executor == "auto" else (EXECUTORS[executor],)  # type: ignore[assignment]
    )
    for name in wanted:
        if name in defined:
            return name
    expected = " or ".join(
        f"{name} ({'native Keras, GenericExecutor' if name == 'run_fn' else 'Estimator executor'})"
        for name in wanted
    )
    raise TrainerModuleError(f"trainer module {path} defines no {expected}")


def require_function(dotted: str, *, role: str) -> None:
    """Check that ``package.module.function`` names a function its module defines (read with
    ``ast``, not imported), e.g. a Transform ``preprocessing_fn``."""
    module, _, function = dotted.rpartition(".")
    if not module or not function:
        raise TrainerModuleError(f"{role}={dotted!r} must be a dotted path 'module.function'")
    path = module_path(module)
    if function not in top_level_functions(path):
        raise TrainerModuleError(f"{role} module {path} defines no function {function!r}")


def top_level_functions(path: Path) -> set[str]:
    try:
        tree = ast.parse(path.read_text(), filename=str(path))
    except SyntaxError as error:
        raise TrainerModuleError(
            f"trainer module {path} has a syntax error, line {error.lineno}: {error.msg}"
        ) from None
    return {
        node.name for node in tree.body if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }


def trainer_component(*, module: str, executor: str = "auto", **trainer_args: Any) -> Any:
    """A TFX ``Trainer`` for the module's entry point, with the matching executor.

    ``trainer_args`` go to ``tfx.components.Trainer`` (examples, schema, transform_graph,
    train_args, eval_args, custom_config, ...).
    """
    from tfx.components import Trainer
    from tfx.components.trainer import executor as trainer_executor
    from tfx.dsl.components.base import executor_spec

    function = trainer_function(module, executor)
    if function == "run_fn":
        return Trainer(run_fn=f"{module}.run_fn", **trainer_args)
    if not hasattr(trainer_executor, "Executor"):
        from tfx_dags.compiler.line_errors import estimator_executor_missing

        raise TrainerModuleError(
            f"trainer module {module} defines trainer_fn (an Estimator); "
            + estimator_executor_missing()
        )
    return Trainer(
        trainer_fn=f"{module}.trainer_fn",
        custom_executor_spec=executor_spec.ExecutorClassSpec(trainer_executor.Executor),
        **trainer_args,
    )


# Library code that runs inside the Trainer and so shapes the model like user code does.
TRAINER_SIDE_HELPERS = ("estimators.py", "keras_export.py", "distribution.py")
FINGERPRINT_KEY = "tfx_dags_code_fingerprint"


def code_fingerprint(module: str) -> str:
    """A hash of the code a dotted-path user function runs: its package and our helpers.

    TFX keys its cache on a component's inputs and exec properties. A function named by dotted
    path is only a string there, so a change to its code alone would reuse stale outputs; this
    fingerprint, put into the component's ``custom_config``, makes such a change a cache miss.
    """
    digest = hashlib.sha256()
    package_dir = module_path(module).parent
    helpers = [Path(__file__).with_name(name) for name in TRAINER_SIDE_HELPERS]
    for path in [*sorted(package_dir.glob("*.py")), *helpers]:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]
