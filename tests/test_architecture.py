"""The architecture, checked on the source: no import cycles, and the project's wiring and
the shared ``endpoints`` app import no provider app (a provider is one app plus one line in
``HANDOVER_PROVIDERS``)."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings

from endpoints.provider_apps import provider_app

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ["handover_portal", "endpoints", "genesys", "ops", "security", "genesys_sandbox"]


def project_modules() -> dict[str, Path]:
    modules = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            modules[name.removesuffix(".__init__")] = path
    return modules


def imported(path: Path, modules: dict[str, Path]) -> Iterator[str]:
    """Every module ``path`` imports, at any level except under ``if TYPE_CHECKING``
    (``from package import module`` counts as the module, not the package's ``__init__``)."""
    tree = ast.parse(path.read_text())
    typing_only = {
        id(child)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for child in ast.walk(node)
    }
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                yield submodule if submodule in modules else node.module


def import_graph() -> dict[str, set[str]]:
    modules = project_modules()

    def owner(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets = {owner(target) for target in imported(path, modules)}
        graph[name] = {target for target in targets if target and target != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def test_no_module_imports_one_that_imports_it_back():
    assert cycles(import_graph()) == []


def test_the_cycle_finder_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]


def provider_packages() -> set[str]:
    apps = {provider_app(path) for path in settings.HANDOVER_PROVIDERS}
    return {app for app in apps if app and app != "endpoints"}


def test_the_wiring_and_endpoints_import_no_provider_app():
    providers = provider_packages()
    assert "genesys" in providers
    offenders = {
        (module, target)
        for module, targets in import_graph().items()
        if module.split(".")[0] in {"handover_portal", "endpoints", "ops", "security"}
        for target in targets
        if target.split(".")[0] in providers
    }
    assert offenders == set()


def test_the_procfiles_and_the_wiring_name_no_provider_module():
    names = re.compile(r"\b(" + "|".join(map(re.escape, provider_packages())) + r")\.\w")
    files = [*ROOT.glob("Procfile*"), *(ROOT / "handover_portal").glob("*.py")]
    named = {
        f"{path.name}:{number}"
        for path in files
        if path.name != "settings.py"  # holds the default HANDOVER_PROVIDERS
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if names.search(line)
    }
    assert named == set()
