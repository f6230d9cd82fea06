"""Module boundaries: data flows cli -> analysis -> backends -> ad, and no module uses another's private names.

Read from the source (every import, including the lazy ones inside functions), so a boundary broken
on a code path the other tests do not run is still caught.
"""

import ast
from pathlib import Path

import diffcompare

PACKAGE = Path(diffcompare.__file__).parent


# Which layer may import which (the DESIGN's one-way flow), with no exception: the trace and graph rows and
# the reproduce notes are data in analysis/, written out as the slides' text by render/ (issue 14 item 5).
MAY_NOT_IMPORT = {
    "ad": ("diffcompare.analysis", "diffcompare.backends", "diffcompare.render", "diffcompare.cli"),
    "backends": ("diffcompare.analysis", "diffcompare.render", "diffcompare.cli"),
    "analysis": ("diffcompare.render", "diffcompare.cli"),
    "render": ("diffcompare.cli",),
}


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        yield path.relative_to(PACKAGE).as_posix(), ast.parse(path.read_text())


def _module_name(rel: str) -> str:
    return "diffcompare." + rel.removesuffix(".py").removesuffix("/__init__").replace("/", ".")


def _imports(tree: ast.AST, here: str):
    """(imported module, imported name or None) for every import statement, relative ones resolved."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield a.name, None, a.asname or a.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = here.split(".")[: -node.level]
                base = ".".join(parts + ([base] if base else []))
            for a in node.names:
                yield base, a.name, a.asname or a.name


def _private_uses(rel: str, tree: ast.AST):
    """Private names of *another* diffcompare module this one imports or reads as ``module._name``."""
    here = _module_name(rel)
    modules = {}  # local name -> diffcompare module it refers to
    for module, name, local in _imports(tree, here):
        if not module.startswith("diffcompare"):
            continue
        if name is None:  # `import diffcompare.x.y` binds `diffcompare`; `import ... as m` binds m
            modules[local] = module if local != module else module.split(".")[0]
            continue
        full = f"{module}.{name}"
        if name.startswith("_") and not name.startswith("__") and module != here:
            yield f"{module}.{name}"
        modules[local] = full
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in modules
                and node.attr.startswith("_") and not node.attr.startswith("__")):
            target = modules[node.value.id]
            if target != here:
                yield f"{target}.{node.attr}"


def test_no_module_reaches_into_another_modules_private_names():
    found = set()
    for rel, tree in _modules():
        for use in _private_uses(rel, tree):
            found.add((rel, use))
    assert found == set()  # the engine's modules among themselves too (issue 14's engine half)


def test_the_scan_sees_a_private_import_and_a_private_attribute():
    """The guard above would be vacuous if the scan missed either form: plant both."""
    tree = ast.parse("from diffcompare.backends.finite import _secret\n"
                     "from diffcompare.analysis import families\n"
                     "def g():\n    return families._point(3)\n")
    assert set(_private_uses("analysis/planted.py", tree)) == {
        "diffcompare.backends.finite._secret", "diffcompare.analysis.families._point"}


def test_data_flows_one_way_cli_analysis_backends_ad():
    wrong = []
    for rel, tree in _modules():
        layer = rel.split("/")[0] if "/" in rel else None
        forbidden = MAY_NOT_IMPORT.get(layer, ())
        for module, name, _ in _imports(tree, _module_name(rel)):
            full = module if name is None else f"{module}.{name}"
            if any(full == f or full.startswith(f + ".") or module == f for f in forbidden):
                wrong.append((rel, full))
    assert wrong == []
