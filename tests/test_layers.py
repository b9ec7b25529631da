"""Imports point inward (ARCHITECTURE.md): read from the source, every import counted,
lazy ones inside functions and `TYPE_CHECKING` ones included.

- each subpackage imports only the subpackages its layer allows (`ALLOWED`);
- `model/`, `checks/`, `judge/` and `render/` never reach network I/O, not even through
  another module of ours (`NETWORK`: the standard and dnspython modules that talk);
- `cli/` reaches the edges (dns, smtp, tls, policy) only through modules that do no I/O;
- no module imports itself back through others (no cycles).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

import starttls_check

PACKAGE = Path(starttls_check.__file__).parent
EDGES = frozenset({"dns", "smtp", "tls", "policy"})
ALLOWED: Mapping[str, frozenset[str]] = {
    "model": frozenset(),
    "dns": frozenset({"model"}),
    "tls": frozenset({"model"}),
    "smtp": frozenset({"model", "dns", "tls"}),
    "policy": frozenset({"model", "dns", "tls"}),
    "checks": frozenset({"model"}) | EDGES,
    "judge": frozenset({"model", "checks"}) | EDGES,
    "run": frozenset({"model", "checks", "judge"}) | EDGES,
    "render": frozenset({"model", "judge"}),
    "demo": frozenset({"model", "run"}) | EDGES,
    "cli": frozenset({"model", "judge", "render", "run", "demo"}) | EDGES,
    "": frozenset({"model", "run", "dns", "cli"}),  # __init__ (lazy public names), __main__
}
PURE = ("model", "checks", "judge", "render")
NETWORK = ("asyncio", "socket", "ssl", "selectors", "http", "urllib.request", "subprocess")
NETWORK += ("dns.resolver", "dns.asyncresolver", "dns.query", "dns.asyncquery")


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, name: str) -> Iterator[str]:
    """Every module `path` imports: ours as names relative to the package, others as is."""
    here = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    if name == "":
        here = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            module = node.module or ""
            if module == "starttls_check" or module.startswith("starttls_check."):
                yield from _ours(module.removeprefix("starttls_check").lstrip("."), node)
            else:
                yield module
        elif isinstance(node, ast.ImportFrom):
            base = here[: len(here) - node.level + 1]
            yield from _ours(".".join([*base, *([node.module] if node.module else [])]), node)


def _ours(module: str, node: ast.ImportFrom) -> Iterator[str]:
    for alias in node.names:  # `from . import dane` imports the module `dane`
        candidate = f"{module}.{alias.name}".lstrip(".")
        is_module = (PACKAGE / f"{candidate.replace('.', '/')}.py").exists()
        yield "starttls_check:" + (candidate if is_module else module)


def graph() -> dict[str, set[str]]:
    """Module (relative to the package) -> what it imports (ours prefixed `starttls_check:`)."""
    return {
        _module_name(path): set(_imports(path, _module_name(path)))
        for path in PACKAGE.rglob("*.py")
    }


def _layer(module: str) -> str:
    return (
        module.split(".", 1)[0] if "." in module else ("" if module in ("", "__main__") else module)
    )


def layer_violations(modules: Mapping[str, set[str]]) -> list[str]:
    """`a -> b` for every import of ours that points outward."""
    out = []
    for module, imported in sorted(modules.items()):
        for target in sorted(
            i.removeprefix("starttls_check:") for i in imported if i.startswith("starttls_check:")
        ):
            source_layer, target_layer = _layer(module), _layer(target)
            if target == "" or source_layer == target_layer:
                continue
            if target_layer not in ALLOWED[source_layer]:
                out.append(f"{module} -> {target}")
    return out


def network_reach(
    modules: Mapping[str, set[str]], network: tuple[str, ...] = NETWORK
) -> dict[str, str]:
    """Module -> the first network module it reaches, directly or through ours."""
    reach: dict[str, str] = {}

    def visit(module: str, seen: frozenset[str]) -> str | None:
        if module in reach:
            return reach[module]
        for imported in sorted(modules.get(module, ())):
            if not imported.startswith("starttls_check:"):
                if any(imported == n or imported.startswith(n + ".") for n in network):
                    reach[module] = imported
                    return imported
                continue
            target = imported.removeprefix("starttls_check:")
            if target in seen or target == "":
                continue
            found = visit(target, seen | {target})
            if found is not None:
                reach[module] = f"{target} ({found})"
                return reach[module]
        return None

    for module in modules:
        visit(module, frozenset({module}))
    return reach


def cycles(modules: Mapping[str, set[str]]) -> list[list[str]]:
    ours = {
        m: {i.removeprefix("starttls_check:") for i in imp if i.startswith("starttls_check:")}
        - {""}
        for m, imp in modules.items()
    }
    found, state = [], dict.fromkeys(ours, 0)

    def walk(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(ours.get(module, ())):
            if state.get(target) == 1:
                found.append(
                    [*path[path.index(target) :], target] if target in path else [module, target]
                )
            elif state.get(target) == 0:
                walk(target, [*path, target])
        state[module] = 2

    for module in sorted(ours):
        if state[module] == 0:
            walk(module, [module])
    return found


def test_imports_point_inward() -> None:
    assert layer_violations(graph()) == []


@pytest.mark.parametrize("layer", PURE)
def test_pure_layers_never_reach_the_network(layer: str) -> None:
    modules = graph()
    reach = network_reach(modules)
    offending = {m: reach[m] for m in modules if _layer(m) == layer and m in reach}
    assert offending == {}


def test_the_command_line_uses_the_edges_only_through_modules_without_io() -> None:
    # `ssl` alone opens nothing: the trust store asks it only where the CA bundle is.
    modules = graph()
    reach = network_reach(modules, tuple(n for n in NETWORK if n != "ssl"))
    edge_imports = {
        target
        for module, imported in modules.items()
        if _layer(module) == "cli"
        for target in (
            i.removeprefix("starttls_check:") for i in imported if i.startswith("starttls_check:")
        )
        if _layer(target) in EDGES
    }
    assert {t: reach[t] for t in edge_imports if t in reach} == {}


def test_no_import_cycles() -> None:
    assert cycles(graph()) == []


def test_the_rules_catch_what_they_guard() -> None:
    """The same functions, on a small graph that breaks each rule once."""
    broken = {
        "model.report": {"starttls_check:judge.gate"},  # the model imports nothing of ours
        "render.table": {"starttls_check:smtp.session"},  # render never reaches I/O
        "smtp.session": {"asyncio", "starttls_check:tls.client"},
        "tls.client": {"ssl"},
        "checks.mx": {"starttls_check:checks.session"},
        "checks.session": {"starttls_check:checks.mx"},
    }
    assert layer_violations(broken) == [
        "model.report -> judge.gate",
        "render.table -> smtp.session",
    ]
    assert network_reach(broken)["render.table"] == "smtp.session (asyncio)"
    assert cycles(broken) == [["checks.mx", "checks.session", "checks.mx"]]
    assert graph()["smtp.session"] & {"asyncio"}  # the real graph sees what the source imports
