from __future__ import annotations

import importlib
import textwrap
import uuid
from pathlib import Path

import pytest

from tfx_dags.authoring.distribution import strategy_settings
from tfx_dags.authoring.trainer_executors import (
    TrainerModuleError,
    code_fingerprint,
    require_function,
    trainer_function,
)
from tfx_dags.common.errors import ConfigError

RUN_FN = "def run_fn(fn_args):\n    pass\n"
TRAINER_FN = "def trainer_fn(fn_args, schema):\n    return {}\n"


@pytest.fixture
def user_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An importable package in a fresh folder on sys.path, named anew for each test:
    find_spec would otherwise reuse the parent package an earlier test imported."""
    package = tmp_path / f"usermods_{uuid.uuid4().hex[:8]}"
    package.mkdir()
    (package / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    return package


def write_module(package: Path, name: str, source: str) -> str:
    (package / f"{name}.py").write_text(textwrap.dedent(source))
    importlib.invalidate_caches()
    return f"{package.name}.{name}"


@pytest.mark.parametrize(
    ("source", "expected"),
    [(RUN_FN, "run_fn"), (TRAINER_FN, "trainer_fn"), (RUN_FN + TRAINER_FN, "run_fn")],
    ids=["run_fn", "trainer_fn", "both-prefers-run_fn"],
)
def test_the_entry_point_is_read_from_the_module(
    user_package: Path, source: str, expected: str
) -> None:
    assert trainer_function(write_module(user_package, "trainer", source)) == expected


def test_an_explicit_executor_picks_its_entry_point(user_package: Path) -> None:
    module = write_module(user_package, "both", RUN_FN + TRAINER_FN)
    assert trainer_function(module, "estimator") == "trainer_fn"
    assert trainer_function(module, "generic") == "run_fn"


def test_the_module_is_not_imported(user_package: Path) -> None:
    module = write_module(user_package, "explosive", "raise SystemExit('imported!')\n" + RUN_FN)
    assert trainer_function(module) == "run_fn"


def test_nested_functions_do_not_count(user_package: Path) -> None:
    module = write_module(
        user_package, "nested", "def outer():\n    def run_fn(a):\n        pass\n"
    )
    with pytest.raises(TrainerModuleError, match="defines no run_fn"):
        trainer_function(module)


def test_a_module_with_neither_names_the_file_and_both_options(user_package: Path) -> None:
    module = write_module(user_package, "empty", "def train():\n    pass\n")
    with pytest.raises(TrainerModuleError) as error:
        trainer_function(module)
    assert str(error.value) == (
        f"trainer module {user_package / 'empty.py'} defines no run_fn (native Keras, "
        "GenericExecutor) or trainer_fn (Estimator executor)"
    )


def test_an_explicit_executor_without_its_function_is_named(user_package: Path) -> None:
    module = write_module(user_package, "keras_only", RUN_FN)
    with pytest.raises(TrainerModuleError, match=r"keras_only\.py defines no trainer_fn"):
        trainer_function(module, "estimator")
    with pytest.raises(TrainerModuleError, match="executor='tpu' is not one of"):
        trainer_function(module, "tpu")


def test_a_syntax_error_names_the_file_and_line(user_package: Path) -> None:
    module = write_module(user_package, "broken", "def run_fn(fn_args):\n    return (\n")
    with pytest.raises(TrainerModuleError, match=r"broken\.py has a syntax error, line 2"):
        trainer_function(module)


def test_a_missing_module_is_named(user_package: Path) -> None:
    ghost = f"{user_package.name}.ghost"
    with pytest.raises(TrainerModuleError, match=f"trainer module '{ghost}' not found"):
        trainer_function(ghost)


def test_the_fingerprint_follows_the_code_of_the_whole_package(user_package: Path) -> None:
    module = write_module(user_package, "model", RUN_FN)
    before = code_fingerprint(module)
    assert code_fingerprint(module) == before
    write_module(user_package, "features", "LABEL = 'species'\n")
    after_new_file = code_fingerprint(module)
    assert after_new_file != before
    write_module(user_package, "model", RUN_FN + "\nBATCH_SIZE = 64\n")
    assert code_fingerprint(module) not in (before, after_new_file)


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (None, ("none", 1)),
        ({"distribution_strategy": "mirrored", "cpu_replicas": 2}, ("mirrored", 2)),
        ({"distribution_strategy": "one_device"}, ("one_device", 1)),
    ],
)
def test_strategy_settings(config: dict | None, expected: tuple[str, int]) -> None:
    assert strategy_settings(config) == expected


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"distribution_strategy": "tpu"}, "distribution_strategy='tpu' is not one of"),
        ({"cpu_replicas": 0}, "cpu_replicas=0 must be an integer >= 1"),
        ({"cpu_replicas": "2"}, "cpu_replicas='2' must be an integer >= 1"),
    ],
)
def test_bad_strategy_settings_are_named(config: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        strategy_settings(config)


def test_a_preprocessing_fn_must_be_defined_by_its_module(user_package: Path) -> None:
    module = write_module(
        user_package, "preprocessing", "def preprocessing_fn(inputs):\n    pass\n"
    )
    require_function(f"{module}.preprocessing_fn", role="preprocessing_fn")
    with pytest.raises(
        TrainerModuleError,
        match=r"preprocessing_fn module .*preprocessing\.py "
        r"defines no function 'transform_fn'",
    ):
        require_function(f"{module}.transform_fn", role="preprocessing_fn")
    broken = write_module(user_package, "broken", "def preprocessing_fn(inputs):\n    return (\n")
    with pytest.raises(TrainerModuleError, match=r"broken\.py has a syntax error, line 2"):
        require_function(f"{broken}.preprocessing_fn", role="preprocessing_fn")
