"""The import rule (docs/architecture.md): the tree reads as the data flow and imports only go down it.

spec -> sources -> cache -> timeline -> incident -> analysis -> pipeline -> portfolio -> report -> face. A module may
import modules of its own layer or of a lower one, never a higher one; nothing forms a cycle; a loader
(``sources/<kind>/<format>.py``) never imports another loader, and the toolkit modules directly under
``sources/`` import no loader. Every import counts for the layers (top-level, inside functions, under
TYPE_CHECKING); cycles are those of run-time imports (a TYPE_CHECKING import runs nothing).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"

# Lowest first. A module belongs to the longest prefix listed here.
LAYERS: list[tuple[str, ...]] = [
    ("pmkit._version", "pmkit.errors", "pmkit.schema", "pmkit.timeutil", "pmkit.vocab", "pmkit.redaction"),
    ("pmkit.spec",),
    ("pmkit.sources",),
    ("pmkit.cache",),
    ("pmkit.timeline",),
    ("pmkit.incident",),
    ("pmkit.analysis",),
    ("pmkit.pipeline",),
    ("pmkit.portfolio",),
    ("pmkit.report",),
    (
        "pmkit",
        "pmkit.cli",
        "pmkit.cli_commands",
        "pmkit.scaffold",
        "pmkit.scan",
        "pmkit.samplegen",
        "pmkit.pull",
    ),  # the face
]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer_of(module: str) -> int:
    best, layer = -1, -1
    for i, prefixes in enumerate(LAYERS):
        for p in prefixes:
            if (module == p or module.startswith(p + ".")) and len(p) > best and not (p == "pmkit" and module != p):
                best, layer = len(p), i
    assert layer >= 0, f"{module} is in no layer of tests/test_layout.py: add it where it belongs in the flow"
    return layer


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    """ids of the nodes under ``if TYPE_CHECKING:``."""
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                skip.update(id(n) for n in ast.walk(child))
    return skip


def imports_of(path: Path, module: str, *, runtime_only: bool = False) -> set[str]:
    """Every pmkit module ``path`` imports (absolute or relative, at any depth of the file)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    skip = _type_checking_nodes(tree) if runtime_only else set()
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "pmkit")
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            if base.split(".")[0] != "pmkit":
                continue
            for alias in node.names:  # `from pmkit.sources import registry` imports the module pmkit.sources.registry
                sub = f"{base}.{alias.name}"
                found.add(
                    sub
                    if (SRC / Path(*sub.split("."))).with_suffix(".py").exists()
                    or (SRC / Path(*sub.split("."))).is_dir()
                    else base
                )
    found.discard(module)
    return found


def graph(*, runtime_only: bool = False) -> dict[str, set[str]]:
    return {
        module_name(p): imports_of(p, module_name(p), runtime_only=runtime_only)
        for p in sorted((SRC / "pmkit").rglob("*.py"))
    }


def is_loader(module: str) -> bool:
    parts = module.split(".")
    return len(parts) == 4 and parts[1] == "sources" and not parts[3].startswith("_")


def test_no_upward_import() -> None:
    upward = [
        f"{mod} (layer {layer_of(mod)}) imports {dep} (layer {layer_of(dep)})"
        for mod, deps in graph().items()
        for dep in sorted(deps)
        if layer_of(dep) > layer_of(mod)
    ]
    assert not upward, "imports against the flow:\n" + "\n".join(upward)


def test_no_cycle() -> None:
    g = graph(runtime_only=True)
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for dep in sorted(g.get(node, ())):
            if dep not in g:
                continue
            if state.get(dep) == 1:
                cycles.append([*stack[stack.index(dep) :], dep] if dep in stack else [node, dep])
            elif dep not in state:
                visit(dep, [*stack, dep])
        state[node] = 2

    for mod in sorted(g):
        if mod not in state:
            visit(mod, [mod])
    # a package importing its own submodules is not a cycle of the flow (pmkit/__init__ is the face)
    real = [c for c in cycles if not all(m == c[0] or m.startswith(c[0] + ".") for m in c) or len(c) > 2]
    real = [c for c in real if "pmkit" not in c]
    assert not real, "import cycles:\n" + "\n".join(" -> ".join(c) for c in real)


def test_loaders_import_no_loader() -> None:
    bad = [
        f"{mod} imports the loader {dep}"
        for mod, deps in graph().items()
        if mod.startswith("pmkit.sources")
        for dep in sorted(deps)
        if is_loader(dep) and dep != mod and not (is_loader(mod) is False and mod == dep.rpartition(".")[0])
    ]
    assert not bad, "loaders share code through toolkit modules under sources/, not through each other:\n" + "\n".join(
        bad
    )


@pytest.mark.parametrize("module", ["pmkit.timeline", "pmkit.incident", "pmkit.report.render"])
def test_layers_are_known(module: str) -> None:
    assert layer_of(module) >= 0


def test_the_rule_catches_an_upward_import(tmp_path: Path) -> None:
    """The checker itself: a spec module importing the pipeline is reported."""
    f = tmp_path / "pmkit" / "spec.py"
    f.parent.mkdir()
    f.write_text("from pmkit.pipeline import analyze\n")
    deps = imports_of(f, "pmkit.spec")
    assert deps == {"pmkit.pipeline"} and layer_of("pmkit.pipeline") > layer_of("pmkit.spec")


def test_the_face_shadows_no_module() -> None:
    """``pm.analyze`` is a function, so no module may be called ``pmkit.analyze`` (nor any other public name)."""
    import importlib.util

    import pmkit

    clash = [name for name in pmkit.__all__ if importlib.util.find_spec(f"pmkit.{name}") is not None]
    assert not clash, f"public names that hide a module of the same name: {clash}"


def test_import_pmkit_loads_nothing_heavy() -> None:
    """``import pmkit`` (and so ``pmkit --help``) imports neither polars nor the analyses: names load on first use."""
    import subprocess
    import sys

    code = "import sys, pmkit; print(sorted(m for m in ('polars', 'pmkit.pipeline', 'plotly', 'papermill') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
