"""No user value ever reaches a shell: neither the product nor the checkout's dev tooling
starts one."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted(
    path
    for folder in ("tfx_dags", "dags", "modules", "plugins", "dev")
    for path in (PROJECT_ROOT / folder).rglob("*.py")
)
SHELL_FUNCTIONS = {"system", "popen", "getoutput", "getstatusoutput"}


def shell_uses(tree: ast.AST) -> list[int]:
    lines = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        if any(k.arg == "shell" and not _is_false(k.value) for k in node.keywords):
            lines.append(node.lineno)
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in SHELL_FUNCTIONS:
            lines.append(node.lineno)
    return lines


def _is_false(value: ast.expr) -> bool:
    return isinstance(value, ast.Constant) and value.value is False


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PROJECT_ROOT)))
def test_no_shell_is_started(path: Path) -> None:
    assert shell_uses(ast.parse(path.read_text())) == [], path


def test_the_check_would_see_a_shell() -> None:
    tree = ast.parse("import os, subprocess\nsubprocess.run(cmd, shell=True)\nos.system(cmd)\n")
    assert shell_uses(tree) == [2, 3]
