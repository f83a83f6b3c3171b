"""One exception hierarchy: every exception class tfx_dags defines derives from TfxDagsError,
so a caller (a DAG file, a test, the CLI) catches everything we raise with one ``except``.

Read from the sources, as tests/unit/test_import_boundaries.py does: half of the package
imports TFX, which the Airflow environment running the unit tests does not have, and an
exception class defined inside a function would escape an import-based walk anyway.
"""

from __future__ import annotations

import ast
import builtins
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
BASE = ("tfx_dags.common.errors", "TfxDagsError")
# Exceptions of other libraries, seen only by name: ``errors.AlreadyExistsError``.
FOREIGN_SUFFIXES = ("Error", "Exception", "Exit", "Interrupt")


@dataclass(frozen=True)
class Defined:
    module: str
    name: str
    line: int
    bases: tuple[tuple[str, str] | str, ...]  # our (module, class) or a foreign name


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def classes(path: Path) -> list[Defined]:
    """Every class the file defines (at any depth), its bases resolved to ours where the
    name is the module's own class or one it imports from tfx_dags."""
    module = module_name(path)
    tree = ast.parse(path.read_text(), str(path))
    imported = {
        alias.asname or alias.name: (node.module, alias.name)
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("tfx_dags")
        for alias in node.names
    }
    own = {node.name for node in ast.walk(tree) if isinstance(node, ast.ClassDef)}
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.ClassDef):
            continue
        bases: list[tuple[str, str] | str] = []
        for base in node.bases:
            name = ast.unparse(base)
            if name in own:
                bases.append((module, name))
            elif name in imported:
                bases.append(imported[name])
            else:
                bases.append(name)
        found.append(Defined(module, node.name, node.lineno, tuple(bases)))
    return found


DEFINED = {
    (defined.module, defined.name): defined
    for path in sorted((ROOT / "tfx_dags").rglob("*.py"))
    for defined in classes(path)
}


def is_exception(key: tuple[str, str] | str) -> bool:
    if isinstance(key, str):
        builtin = getattr(builtins, key.rpartition(".")[2], None)
        if isinstance(builtin, type):
            return issubclass(builtin, BaseException)
        return key.endswith(FOREIGN_SUFFIXES)
    defined = DEFINED.get(key)
    return defined is not None and any(is_exception(base) for base in defined.bases)


def derives_from_base(key: tuple[str, str] | str) -> bool:
    if key == BASE:
        return True
    defined = DEFINED.get(key) if isinstance(key, tuple) else None
    return defined is not None and any(derives_from_base(base) for base in defined.bases)


EXCEPTIONS = sorted(key for key in DEFINED if is_exception(key) and key != BASE)


def test_the_walk_finds_the_package_exceptions() -> None:
    # Guards the walk itself: were it to find nothing, the test below would pass vacuously.
    names = {name for _, name in EXCEPTIONS}
    assert {"ConfigError", "StoreMissing", "DefinitionError", "PlotError", "NotFound"} <= names


@pytest.mark.parametrize("key", EXCEPTIONS, ids=[f"{m}.{n}" for m, n in EXCEPTIONS])
def test_every_exception_of_the_package_derives_from_tfx_dags_error(key: tuple[str, str]) -> None:
    defined = DEFINED[key]
    assert derives_from_base(key), (
        f"{defined.module}.{defined.name} (line {defined.line}) derives from "
        f"{list(defined.bases)}, not tfx_dags.common.errors.TfxDagsError"
    )


def test_extra_bases_callers_rely_on_are_kept() -> None:
    from tfx_dags.common.errors import ConfigError, TfxDagsError
    from tfx_dags.ui.plots import PlotError

    for error in (ConfigError, PlotError):
        assert issubclass(error, TfxDagsError) and issubclass(error, ValueError)
