"""What ``pip install`` of the wheel needs, read from the source: every third-party module the
product imports is a declared dependency, and the package configuration ships every package
and every data file. (tests/e2e/test_wheel.py builds and installs the wheel itself.)"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

from tests.conftest import ROOT

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
SETUPTOOLS = PYPROJECT["tool"]["setuptools"]
#: The product's package folders and top-level modules, as the wheel has them.
PACKAGE_DIRS = ("assistant", "ingest", "prompts")
MODULES = tuple(SETUPTOOLS["py-modules"])
OWN = frozenset(PACKAGE_DIRS) | frozenset(MODULES)


def normalized(name: str) -> str:
    """A distribution name as package indexes compare them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_names(requirements: list[str]) -> set[str]:
    """The normalized distribution names of PEP 508 requirement strings."""
    names = set()
    for requirement in requirements:
        found = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
        assert found, f"cannot read the requirement {requirement!r}"
        names.add(normalized(found.group(1)))
    return names


def configured_packages() -> set[str]:
    """The packages setuptools puts in the wheel, as pyproject.toml configures it: a hand list,
    or discovery run here with the configured include, exclude and namespaces."""
    from setuptools import find_namespace_packages, find_packages

    config = SETUPTOOLS.get("packages", [])
    if isinstance(config, list):
        return set(config)
    find = config["find"]
    assert find.get("where", ["."]) == ["."], "the test reads packages from the repository root"
    finder = find_namespace_packages if find.get("namespaces", True) else find_packages
    return set(finder(str(ROOT), include=find["include"], exclude=find.get("exclude", ())))


def product_sources() -> list[Path]:
    """Every Python file that goes into the wheel."""
    files = [ROOT / f"{name}.py" for name in MODULES]
    for folder in PACKAGE_DIRS:
        files += [p for p in (ROOT / folder).rglob("*.py") if "__pycache__" not in p.parts]
    return sorted(files)


def third_party_imports() -> dict[str, dict[str, bool]]:
    """Top-level module name -> {file: imported at module level?} for every import of a module
    that is neither in the standard library nor ours, wherever it stands (in a function, under
    ``if TYPE_CHECKING``)."""
    found: dict[str, dict[str, bool]] = {}

    def visit(node: ast.AST, path: str, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            names: list[str] = []
            if isinstance(child, ast.Import):
                names = [alias.name for alias in child.names]
            elif isinstance(child, ast.ImportFrom) and child.level == 0 and child.module:
                names = [child.module]
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top not in OWN:
                    where = found.setdefault(top, {})
                    where[path] = where.get(path, False) or not in_function
            nested = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            visit(child, path, nested)

    for path in product_sources():
        visit(ast.parse(path.read_text(encoding="utf-8")), str(path.relative_to(ROOT)), False)
    return found


def test_every_imported_module_is_a_declared_dependency() -> None:
    """A module imported at module level must come from ``dependencies``. One imported only
    inside a function may instead come from an optional extra other than ``dev``: a provider
    that only the users who choose it install (``pip install 'briefing-assistant[ollama]'``)."""
    declared = requirement_names(PYPROJECT["project"]["dependencies"])
    extras = {
        name: requirement_names(requirements)
        for name, requirements in PYPROJECT["project"].get("optional-dependencies", {}).items()
        if name != "dev"
    }
    optional = set().union(*extras.values())
    distributions = packages_distributions()
    imports = third_party_imports()
    # A check that finds nothing proves nothing: the product does import these.
    assert {"chromadb", "fastapi", "gradio", "numpy", "uvicorn"} <= set(imports)

    missing = []
    for module, where in sorted(imports.items()):
        dists = {normalized(d) for d in distributions.get(module, [])}
        files = ", ".join(sorted(where))
        if not dists:
            missing.append(f"{module} (imported in {files}) is not installed here")
        elif not dists & declared and not (dists & optional and not any(where.values())):
            missing.append(f"{module} from {'/'.join(sorted(dists))} (imported in {files})")
    assert not missing, "imported but not declared in pyproject.toml:\n" + "\n".join(missing)


def test_package_discovery_finds_every_package() -> None:
    found = configured_packages()
    packages = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for folder in PACKAGE_DIRS
        for init in (ROOT / folder).rglob("__init__.py")
        if "__pycache__" not in init.parts
    }
    assert "assistant.briefing" in packages
    assert packages <= found, f"not in the wheel: {sorted(packages - found)}"
    assert not {p for p in found if p.split(".")[0] in ("tests", "bench")}
    assert all((ROOT / f"{name}.py").is_file() for name in MODULES)


def test_package_data_covers_every_data_file() -> None:
    """Every file under the package folders that is not Python (prompts, samples, the page's
    script and style, the reader's weights and threshold) is matched by ``package-data``, so the
    wheel has it."""
    patterns = SETUPTOOLS.get("package-data", {})
    shipped: set[Path] = set()
    for package in configured_packages():
        folder = ROOT.joinpath(*package.split("."))
        for pattern in patterns.get(package, []) + patterns.get("*", []):
            shipped |= {p for p in folder.glob(pattern) if p.is_file()}

    data = {
        p
        for folder in PACKAGE_DIRS
        for p in (ROOT / folder).rglob("*")
        if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts
    }
    assert data, "the product has data files (prompts, samples): the walk found none"
    missing = sorted(str(p.relative_to(ROOT)) for p in data - shipped)
    assert not missing, f"not in the wheel: {missing}"
