"""Run parameters: the schema Airflow validates triggers with, and the second check at run time.

Property-based: whatever a trigger sends, a value is either refused with the parameter's name
or lands within bounds, and a path never leaves its root.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from airflow.sdk import Param
from airflow.sdk.exceptions import ParamValidationError
from hypothesis import example, given
from hypothesis import strategies as st

from tfx_dags.airflow.params import RunParam, param_schema, resolve_run_kwargs, schema_problem
from tfx_dags.common.errors import ConfigError

STEPS = RunParam(minimum=1, maximum=10_000)
ACCURACY = RunParam(minimum=0, maximum=1)
ROOT = Path("/srv/tfx-data")
DATA = RunParam(path_root=str(ROOT))
KWARGS = {"train_steps": 200, "min_accuracy": 0.9, "data_root": str(ROOT / "penguin")}
PARAMS = {"train_steps": STEPS, "min_accuracy": ACCURACY, "data_root": DATA}
ANY_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=6,
)
# Characters of paths and of shell tricks: traversal, separators, metacharacters.
HOSTILE_TEXT = st.text(alphabet="ab./\\~$`;|&<>(){}*? \n\t'\"-_=", max_size=30)


def resolve(**values: object) -> dict[str, object]:
    return resolve_run_kwargs(pipeline_kwargs=KWARGS, run_params=PARAMS, values=values)


def test_schemas_carry_type_bounds_and_a_root_relative_default() -> None:
    assert param_schema("train_steps", 200, STEPS) == {
        "type": "integer",
        "title": "train_steps",
        "minimum": 1,
        "maximum": 10_000,
        "default": 200,
    }
    data = param_schema("data_root", KWARGS["data_root"], DATA)
    assert data["type"] == "string" and data["default"] == "penguin"


def test_a_run_gets_its_values_and_absolute_paths_under_the_root() -> None:
    kwargs = resolve(train_steps=50, min_accuracy=1, data_root="penguin/2026-11-24")
    assert kwargs["train_steps"] == 50
    assert kwargs["min_accuracy"] == 1.0 and isinstance(kwargs["min_accuracy"], float)
    assert kwargs["data_root"] == str(ROOT / "penguin" / "2026-11-24")
    assert resolve() == KWARGS


@pytest.mark.parametrize(
    "hostile",
    [
        "../../etc",
        "/etc/passwd",
        "penguin/../../etc",
        "..",
        ".",
        "",
        "penguin; rm -rf /",
        "$(reboot)",
        "`id`",
        "penguin\n",
        "a//b",
        "~root",
    ],
)
def test_hostile_paths_are_refused_by_airflow_and_at_run_time(hostile: str) -> None:
    schema = param_schema("data_root", KWARGS["data_root"], DATA)
    with pytest.raises(ParamValidationError):
        Param(**schema).resolve(hostile)
    with pytest.raises(ConfigError, match="run parameter 'data_root'"):
        resolve(data_root=hostile)


def test_a_symlink_out_of_the_root_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "data"
    (root / "penguin").mkdir(parents=True)
    (root / "escape").symlink_to("/etc")
    params = {"data_root": RunParam(path_root=str(root))}
    kwargs = {"data_root": str(root / "penguin")}
    with pytest.raises(ConfigError, match="'escape' leads outside"):
        resolve_run_kwargs(
            pipeline_kwargs=kwargs, run_params=params, values={"data_root": "escape"}
        )


@given(ANY_JSON)
@example(1.0)  # JSON Schema's integer: Airflow takes it, so must we (as the int 1)
@example(1.5)
@example(math.nan)
def test_our_check_and_airflows_agree_on_every_value(value: object) -> None:
    for name, spec in PARAMS.items():
        schema = param_schema(name, KWARGS[name], spec)
        try:
            Param(**schema).resolve(value)
            airflow_accepts = True
        except ParamValidationError:
            airflow_accepts = False
        ours = schema_problem(schema, value)
        if isinstance(value, float) and math.isnan(value) and airflow_accepts:
            # The one difference: jsonschema compares NaN with a bound as False, so Airflow
            # lets a NaN through a bounded number; the task's own check refuses it before
            # any work (no JSON document can carry NaN, a Python caller can).
            assert ours == "nan is not a finite number", (name, value)
            continue
        assert airflow_accepts == (ours is None), (name, value)


@given(st.integers() | st.floats(allow_nan=True, allow_infinity=True))
@example(5.0)
def test_numbers_are_within_bounds_or_refused_naming_the_parameter(value: float) -> None:
    try:
        kwargs = resolve(train_steps=value)
    except ConfigError as error:
        assert "run parameter 'train_steps'" in str(error)
    else:
        assert isinstance(kwargs["train_steps"], int) and 1 <= kwargs["train_steps"] <= 10_000


@given(HOSTILE_TEXT)
def test_a_path_value_is_refused_or_stays_under_its_root(value: str) -> None:
    try:
        kwargs = resolve(data_root=value)
    except ConfigError as error:
        assert "run parameter 'data_root'" in str(error)
    else:
        resolved = Path(str(kwargs["data_root"]))
        assert ROOT in resolved.parents, resolved
        assert not set(value) & set("$`;|&<>(){}*? \n\t'\"\\~")


def test_schema_problems_name_the_rule() -> None:
    schema = param_schema("train_steps", 200, STEPS)
    assert schema_problem(schema, True) == "True is not of type 'integer'"
    assert schema_problem(schema, 0) == "0 is less than the minimum of 1"
    assert schema_problem(schema, 10_001) == "10001 is greater than the maximum of 10000"
