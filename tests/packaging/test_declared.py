"""What the tests import is declared: a package only the tests use is in the test extra (or the
dependencies), not something that happens to arrive with another package (openapi-spec-validator
came only with moto[server], hypothesis only with schemathesis)."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OURS = {"omnidrop", "tests"}


def _imports(folder: Path) -> set[str]:
    found: set[str] = set()
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return found - OURS - set(sys.stdlib_module_names)


def _name(requirement: str) -> str:
    return re.sub(r"[-_.]+", "-", re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0]).lower()


def test_every_package_only_the_tests_import_is_declared():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = {_name(r) for r in project["dependencies"] + project["optional-dependencies"]["test"]}
    constraints = ROOT / "constraints.txt"
    pinned = {_name(line) for line in constraints.read_text(encoding="utf-8").splitlines()
              if line.strip() and not line.startswith("#")}
    distributions = packages_distributions()
    undeclared, unpinned = {}, {}
    for module in sorted(_imports(ROOT / "tests") - _imports(ROOT / "src")):
        names = {_name(d) for d in distributions.get(module, [])}
        assert names, f"tests import {module!r}, which no installed distribution provides"
        if not names & declared:
            undeclared[module] = sorted(names)
        if not names & pinned:
            unpinned[module] = sorted(names)
    assert undeclared == {}, "add these to [project.optional-dependencies] test in pyproject.toml"
    assert unpinned == {}, "pin these in constraints.txt"
