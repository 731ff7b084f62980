"""The layout is the flow: a package imports only packages below it, and no other package's
private helpers. Fails on an import running against the flow (ARCHITECTURE.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import custseg

ROOT = Path(custseg.__file__).parent

#: Lowest first. A module may import from its own package, from any package of a lower layer, and
#: not from a package of its own layer or above.
LAYERS = [
    {"errors"},
    {"result", "data", "_categorical", "outputs", "dialect", "machine", "ids"},
    {"sources", "generate"},
    {"features"},
    {"config"},
    {"rfm", "cluster"},
    {"profile"},
    {"value", "summary"},
    {"engines"},
    {"audiences", "pipeline"},
    {"report"},
    {"migration", "api", "tuning"},
    {"cli"},
]
#: Known imports against the flow, each with its reason; the list may only shrink.
EXCEPTIONS = {
    # spark-submit's entry script: runs the command itself
    ("custseg.engines.spark.submit", "custseg.cli"),
    # the config file is checked on loading, with the file's name in the message, against the
    # rules of the stages that use its values
    ("custseg.config", "custseg.audiences"),
}


def _layer(package: str) -> int:
    for i, layer in enumerate(LAYERS):
        if package in layer:
            return i
    raise AssertionError(f"custseg.{package} is in no layer of tests/test_architecture.py: place it")


def _imports():
    """(module, imported module, imported names) for every import of custseg by custseg."""
    for path in sorted(ROOT.rglob("*.py")):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        module = ".".join(parts[:-1] if is_package else parts)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = module.split(".") if is_package else module.split(".")[:-1]
                    base = base[: len(base) - node.level + 1]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                if target.split(".")[0] == "custseg":
                    yield module, target, [a.name for a in node.names]
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.split(".")[0] == "custseg":
                        yield module, alias.name, []


def _package(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def test_no_import_runs_against_the_flow():
    wrong, used = [], set()
    for module, target, names in _imports():
        mine, theirs = _package(module), _package(target)
        if theirs is None or mine is None or mine == theirs:
            continue
        key = (module, target)
        if _layer(theirs) >= _layer(mine):
            if key in EXCEPTIONS:
                used.add(key)
            else:
                wrong.append(f"{module} imports {target} (layer {_layer(theirs)} >= {_layer(mine)})")
    assert not wrong, "imports against the flow:\n" + "\n".join(wrong)
    assert used == EXCEPTIONS, f"exceptions no longer needed: {sorted(EXCEPTIONS - used)}"


def test_no_package_uses_another_packages_private_helpers():
    wrong = []
    for module, target, names in _imports():
        mine, theirs = _package(module), _package(target)
        if theirs is None or mine == theirs:
            continue
        private = [p for p in target.split(".")[2:] if p.startswith("_")] + [n for n in names if n.startswith("_")]
        if private:
            wrong.append(f"{module} uses {target}: {', '.join(private)}")
    assert not wrong, "\n".join(wrong)
