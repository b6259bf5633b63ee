"""The layout's import rules (../shared/DESIGN.md), read from the source with `ast`: arrows
point one way, roles stay in their rooms, heavy libraries load only inside functions, and no
module imports itself through others."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("common", "judges", "generators", "training", "service")
HEAVY = ("torch", "transformers", "peft", "vllm", "ray", "datasets", "pyarrow")


def modules() -> dict[str, Path]:
    """Every module of the project's packages, by dotted name."""
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


MODULES = modules()


def imports(path: Path, top_level_only: bool) -> Iterator[str]:
    """The modules `path` imports (at module level only, or anywhere)."""
    tree = ast.parse(path.read_text("utf-8"))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    for node in nodes:
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def project_imports(name: str, top_level_only: bool = False) -> set[str]:
    return {m for m in imports(MODULES[name], top_level_only) if m in MODULES}


def test_the_layout_is_read() -> None:
    assert "service.api.comparisons" in MODULES and "judges.sxs" in MODULES
    assert len(MODULES) > 60


@pytest.mark.parametrize("package", ["judges", "generators", "training", "common"])
def test_the_three_and_common_import_neither_service_nor_each_other(package: str) -> None:
    allowed = {"common", package}
    wrong = {
        (name, imported)
        for name in MODULES
        if name.split(".")[0] == package
        for imported in project_imports(name)
        if imported.split(".")[0] not in allowed
    }
    assert not wrong, sorted(wrong)


def test_heavy_libraries_load_only_inside_functions_and_never_in_judges_or_generators() -> None:
    at_import = {
        (name, imported)
        for name, path in MODULES.items()
        for imported in imports(path, top_level_only=True)
        if imported.split(".")[0] in HEAVY
    }
    assert not at_import, sorted(at_import)
    torch_users = {
        name
        for name, path in MODULES.items()
        if name.split(".")[0] in ("judges", "generators")
        for imported in imports(path, top_level_only=False)
        if imported.split(".")[0] in ("torch", "transformers", "peft")
    }
    assert not torch_users, sorted(torch_users)


def test_only_the_api_and_the_app_import_fastapi() -> None:
    web = ("fastapi", "starlette")
    importers = {
        name
        for name, path in MODULES.items()
        for imported in imports(path, top_level_only=False)
        if imported.split(".")[0] in web
    }
    outside = {n for n in importers if not (n.startswith("service.api") or n == "service.app")}
    assert not outside, sorted(outside)


def test_ray_is_imported_by_the_batch_pipeline_alone() -> None:
    importers = {
        name
        for name, path in MODULES.items()
        for imported in imports(path, top_level_only=False)
        if imported.split(".")[0] == "ray"
    }
    assert importers == {"service.batch.pipeline"}


@pytest.mark.parametrize(
    "room", ["service.jobs", "service.reports", "service.matrix", "service.plans"]
)
def test_the_service_rooms_import_no_cli_and_no_http_layer(room: str) -> None:
    wrong = {
        (name, imported)
        for name in MODULES
        if name.startswith(room)
        for imported in project_imports(name)
        if imported.startswith(("service.cli", "service.app", "service.wiring"))
        or (imported.startswith("service.api") and imported != "service.api.schemas")
        or (room == "service.jobs" and imported.startswith("service.api"))
    }
    assert not wrong, sorted(wrong)


BATCH_MAY_NOT = ("service.wiring", "service.matrix.client")  # given what it uses instead


def batch_reaches_past(paths: dict[str, Path]) -> set[tuple[str, str]]:
    """(module, import) for every module of `paths` importing the service's wiring or the
    matrix's HTTP client (anywhere in it)."""
    return {
        (name, imported)
        for name, path in paths.items()
        for imported in imports(path, top_level_only=False)
        if imported in BATCH_MAY_NOT
    }


def test_the_batch_path_is_given_what_it_uses(tmp_path: Path) -> None:
    batch = {name: path for name, path in MODULES.items() if name.startswith("service.batch")}
    assert len(batch) > 5 and batch_reaches_past(batch) == set()
    reaching = tmp_path / "reaching.py"  # the check itself fails on a module that reaches past
    reaching.write_text("def f():\n    from service.wiring import Service\n", "utf-8")
    assert batch_reaches_past({"reaching": reaching}) == {("reaching", "service.wiring")}


MAX_LINES = 300  # a product module's size at most (the restructuring's rule)


def oversized(paths: dict[str, Path], limit: int = MAX_LINES) -> dict[str, int]:
    """The modules among `paths` longer than `limit` lines, with their lengths."""
    lengths = {name: len(path.read_text("utf-8").splitlines()) for name, path in paths.items()}
    return {name: length for name, length in lengths.items() if length > limit}


def test_every_product_module_stays_under_the_size_rule(tmp_path: Path) -> None:
    assert oversized(MODULES) == {}
    long = tmp_path / "long.py"  # the check itself fails on a module over the limit
    long.write_text("x = 1\n" * (MAX_LINES + 1), encoding="utf-8")
    assert oversized({"long": long}) == {"long": MAX_LINES + 1}


def test_no_import_cycle() -> None:
    graph = {name: {_module_of(m) for m in project_imports(name)} - {name} for name in MODULES}
    cycles = [component for component in _strongly_connected(graph) if len(component) > 1]
    assert not cycles, cycles


def _module_of(imported: str) -> str:
    """`service.jobs.store.Job` is module `service.jobs.store`; a package is its __init__."""
    while imported not in MODULES:
        imported = imported.rsplit(".", 1)[0]
    return imported


def _strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    counter = 0
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                components.append(component)
    return components
