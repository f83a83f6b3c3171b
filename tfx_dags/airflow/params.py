"""Run parameters: pipeline arguments a trigger may change, as typed, bounded Airflow Params.

A DAG file names which of its ``pipeline_kwargs`` are run parameters. Each becomes an Airflow
``Param`` whose JSON schema (type from the default, bounds from ``RunParam``) Airflow checks
when a run is triggered from the UI form, the CLI or the REST API: a bad value is refused
before the run exists, with a message naming the parameter. A run whose values differ from
the defaults runs the pipeline compiled with those values (cached per distinct set).

Path parameters are relative to a fixed root. The schema refuses absolute paths, ``..``
segments and shell metacharacters, and ``resolve_run_kwargs`` checks again, after resolving
symlinks, that the path stays under its root.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tfx_dags.common.errors import ConfigError

# Relative path segments of safe characters; no empty, "." or ".." segment, no leading "/",
# no line break (``$`` would match before a final one). Valid in Python and JavaScript, so the
# trigger form checks it too.
SAFE_RELATIVE_PATH = (
    r"^(?![^\n]*\n)(?!.*(^|/)\.{1,2}(/|$))"
    r"[A-Za-z0-9_][A-Za-z0-9_.=-]*(/[A-Za-z0-9_][A-Za-z0-9_.=-]*)*$"
)
PATH_MAX_LENGTH = 255
_JSON_TYPES = ((bool, "boolean"), (int, "integer"), (float, "number"), (str, "string"))


@dataclass(frozen=True)
class RunParam:
    """How one pipeline argument may be set per run.

    Args:
        description: shown under the field in the trigger form.
        minimum, maximum: inclusive bounds of a number. Default unbounded.
        choices: the only allowed values. Default any.
        path_root: makes a string argument a path under this absolute folder; the run sets it
            relative to the root. Default: not a path.
        max_length: longest string accepted. Default 255.
    """

    description: str = ""
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[Any, ...] = ()
    path_root: str | None = None
    max_length: int = PATH_MAX_LENGTH
    extra_schema: Mapping[str, Any] = field(default_factory=dict)


def as_run_param(name: str, spec: object) -> RunParam:
    if isinstance(spec, RunParam):
        return spec
    if isinstance(spec, Mapping):
        try:
            return RunParam(**spec)
        except TypeError as error:
            raise ConfigError(f"run_params[{name!r}]: {error}") from None
    raise ConfigError(f"run_params[{name!r}] must be a RunParam or a mapping, got {spec!r}")


def json_type(name: str, default: object) -> str:
    for python_type, schema_type in _JSON_TYPES:
        if isinstance(default, python_type):
            return schema_type
    raise ConfigError(
        f"run parameter {name!r} has default {default!r}; run parameters are numbers, "
        "booleans or strings"
    )


def param_schema(name: str, default: object, spec: RunParam) -> dict[str, Any]:
    """The JSON schema of one run parameter, with its default as Airflow shows it."""
    schema_type = json_type(name, default)
    schema: dict[str, Any] = {"type": schema_type, "title": name}
    if spec.description:
        schema["description"] = spec.description
    if spec.minimum is not None or spec.maximum is not None:
        if schema_type not in ("integer", "number"):
            raise ConfigError(f"run parameter {name!r}: minimum/maximum need a numeric default")
        if spec.minimum is not None:
            schema["minimum"] = spec.minimum
        if spec.maximum is not None:
            schema["maximum"] = spec.maximum
    if spec.choices:
        schema["enum"] = list(spec.choices)
    if schema_type == "string":
        schema["maxLength"] = spec.max_length
    if spec.path_root is not None:
        if schema_type != "string":
            raise ConfigError(f"run parameter {name!r}: path_root needs a string default")
        schema["pattern"] = SAFE_RELATIVE_PATH
        schema["default"] = relative_default(name, str(default), spec.path_root)
    else:
        schema["default"] = default
    schema.update(spec.extra_schema)
    _check_default(name, schema)
    return schema


def relative_default(name: str, default: str, root: str) -> str:
    root_path = Path(root)
    if not root_path.is_absolute():
        raise ConfigError(f"run parameter {name!r}: path_root={root!r} must be absolute")
    try:
        relative = Path(default).resolve().relative_to(root_path.resolve())
    except ValueError:
        raise ConfigError(
            f"run parameter {name!r}: default {default!r} is not under path_root {root!r}"
        ) from None
    if relative == Path("."):
        raise ConfigError(
            f"run parameter {name!r}: default {default!r} is path_root itself; the root must "
            "be a folder above it"
        )
    return relative.as_posix()


def _check_default(name: str, schema: Mapping[str, Any]) -> None:
    problem = schema_problem(schema, schema["default"])
    if problem:
        raise ConfigError(f"run parameter {name!r}: its default {problem}")


def schema_problem(schema: Mapping[str, Any], value: object) -> str | None:
    """Why ``value`` breaks ``schema`` (the subset this module writes), or None. The same
    check Airflow's jsonschema makes, repeated where a value arrives without it."""
    import re

    expected = schema["type"]
    ok_type = {
        "boolean": isinstance(value, bool),
        # JSON Schema (and so Airflow) takes 1.0 for an integer; it reaches the run as 1.
        "integer": (isinstance(value, int) and not isinstance(value, bool))
        or (isinstance(value, float) and value.is_integer()),
        "number": isinstance(value, int | float) and not isinstance(value, bool),
        "string": isinstance(value, str),
    }[expected]
    if not ok_type:
        return f"{value!r} is not of type {expected!r}"
    if expected in ("integer", "number") and isinstance(value, float) and not math.isfinite(value):
        return f"{value!r} is not a finite number"
    if "minimum" in schema and value < schema["minimum"]:
        return f"{value!r} is less than the minimum of {schema['minimum']}"
    if "maximum" in schema and value > schema["maximum"]:
        return f"{value!r} is greater than the maximum of {schema['maximum']}"
    if "enum" in schema and value not in schema["enum"]:
        return f"{value!r} is not one of {schema['enum']}"
    if isinstance(value, str):
        if len(value) > schema.get("maxLength", math.inf):
            return f"{value!r} is longer than {schema['maxLength']} characters"
        if "pattern" in schema and not re.search(schema["pattern"], value):
            return f"{value!r} is not a safe relative path (no '..', no leading '/')"
    return None


def resolve_run_kwargs(
    *,
    pipeline_kwargs: Mapping[str, Any],
    run_params: Mapping[str, RunParam],
    values: Mapping[str, Any],
) -> dict[str, Any]:
    """The pipeline arguments of one run: the DAG's, with each run parameter's value.

    Values are checked again here (a run started without Airflow's validation, e.g. from an
    old serialized DAG, must not slip through); path values become absolute paths that must
    stay under their root once symlinks are resolved.
    """
    kwargs = dict(pipeline_kwargs)
    for name, spec in run_params.items():
        if name not in values:
            continue
        schema = param_schema(name, pipeline_kwargs[name], spec)
        value = values[name]
        problem = schema_problem(schema, value)
        if problem:
            raise ConfigError(f"run parameter {name!r}: {problem}")
        if spec.path_root is not None:
            value = _path_under_root(name, value, spec.path_root)
        elif schema["type"] == "number":
            value = float(value)
        elif schema["type"] == "integer":
            value = int(value)
        kwargs[name] = value
    return kwargs


def _path_under_root(name: str, relative: str, root: str) -> str:
    root_path = Path(root).resolve()
    path = (root_path / relative).resolve()
    if path == root_path or root_path not in path.parents:
        raise ConfigError(f"run parameter {name!r}: {relative!r} leads outside {root}")
    return str(path)


@dataclass(frozen=True)
class RuntimeBinding:
    """The pipeline's TFX RuntimeParameters: their defaults, and how a run may set each.

    Unlike run parameters of ``pipeline_kwargs``, they need no other compile: TFX binds
    them in each node of the run (``tfx_dags.runner.node --runtime-parameters-json``).
    """

    defaults: Mapping[str, Any]
    specs: Mapping[str, RunParam]

    def values(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Every RuntimeParameter's value in a run with these Params, checked again (a run
        Airflow did not validate must not reach TFX with a wrong value); paths made absolute
        under their root."""
        given = {name: params[name] for name in self.specs if params.get(name) is not None}
        return resolve_run_kwargs(
            pipeline_kwargs=self.defaults, run_params=self.specs, values=given
        )


def is_template(value: object) -> bool:
    """An Airflow template as TFX's Airflow runner allowed for a default: ``{{ ds }}``."""
    text = value.strip() if isinstance(value, str) else ""
    return text.startswith("{{") and text.endswith("}}")
