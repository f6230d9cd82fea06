"""Module boundaries: data flows cli -> analysis -> backends -> ad, and no module uses another's private names.

Read from the source (every import, including the lazy ones inside functions), so a boundary broken
on a code path the other tests do not run is still caught.
"""

import ast
import functools
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


@functools.cache
def _modules():
    """(path under the package, parsed module) for every module, parsed once for all the scans (read only)."""
    return tuple((path.relative_to(PACKAGE).as_posix(), ast.parse(path.read_text()))
                 for path in sorted(PACKAGE.rglob("*.py")))


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


def _module_writes(rel: str, tree: ast.AST):
    """``module.name = ...`` (or ``+=``, ``del``, ``setattr(module, ...)``) on another diffcompare module."""
    here = _module_name(rel)
    modules = {}  # local name -> the diffcompare module it is bound to
    for module, name, local in _imports(tree, here):
        if module.startswith("diffcompare"):
            full = module if name is None else f"{module}.{name}"
            if name is None and local == module:
                full = module.split(".")[0]  # `import diffcompare.x` binds diffcompare
            if name is None or _is_module(full):
                modules[local] = full
    for node in ast.walk(tree):
        targets = []
        if isinstance(node, (ast.Assign, ast.Delete)):
            targets = node.targets
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("setattr", "delattr") \
                and node.args and isinstance(node.args[0], ast.Name) and node.args[0].id in modules:
            yield f"{modules[node.args[0].id]} (via {node.func.id})"
        for t in targets:
            if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and t.value.id in modules \
                    and modules[t.value.id] != here:
                yield f"{modules[t.value.id]}.{t.attr}"


def _is_module(full: str) -> bool:
    rel = full.removeprefix("diffcompare").lstrip(".").replace(".", "/")
    return (PACKAGE / (rel + ".py")).exists() or (PACKAGE / rel / "__init__.py").exists()


def test_no_module_writes_into_another_modules_globals():
    """Issue 14 item 3: a module says what it needs with attributes of its own objects (jit's staged class says
    ``stages``), never by setting a global of another module (staging.py once set ``kinks.STAGED``)."""
    found = {(rel, w) for rel, tree in _modules() for w in _module_writes(rel, tree)}
    assert found == set()


def test_the_write_scan_sees_every_form():
    tree = ast.parse("from diffcompare.ad import kinks\nimport diffcompare.ad.tracer as tr\n"
                     "from diffcompare.ad.rules import RULES\n"
                     "kinks.STAGED = 1\ntr.X += 1\nsetattr(kinks, 'Y', 2)\nRULES.x = 3\n"
                     "def f():\n    from diffcompare.ad import policy\n    policy.DEFAULT = None\n")
    assert set(_module_writes("ad/planted.py", tree)) == {
        "diffcompare.ad.kinks.STAGED", "diffcompare.ad.tracer.X", "diffcompare.ad.kinks (via setattr)",
        "diffcompare.ad.policy.DEFAULT"}


def _ad_import_graph(modules=None):
    """Every diffcompare.ad module -> the ad modules it imports anywhere (lazy imports inside functions too):
    a lazy import breaks a cycle at import time only, the two modules still need each other."""
    graph = {}
    for rel, tree in modules if modules is not None else _modules():
        if not rel.startswith("ad/") or rel.endswith("__init__.py"):
            continue
        here = _module_name(rel)
        deps = set()
        for module, name, _ in _imports(tree, here):
            full = module if name is None else f"{module}.{name}"
            target = full if _is_module(full) else module
            if target.startswith("diffcompare.ad.") and target != here:
                deps.add(target)
        graph[here] = deps
    return graph


def _cycles(graph):
    cycles, done = [], set()

    def visit(m, path):
        if m in path:
            cycles.append(path[path.index(m):] + [m])
            return
        if m in done or m not in graph:
            return
        for d in sorted(graph[m]):
            visit(d, [*path, m])
        done.add(m)

    for m in sorted(graph):
        visit(m, [])
    return cycles


def test_the_engine_has_no_import_cycle_even_through_lazy_imports():
    assert _cycles(_ad_import_graph()) == []


def test_the_cycle_scan_sees_a_lazy_import():
    """kinks <-> staging, as it was: staging imports kinks at the top, kinks imported staging inside times."""
    planted = [("ad/kinks.py", ast.parse("def times(g, d):\n    from diffcompare.ad.staging import staged_times\n")),
               ("ad/staging.py", ast.parse("from diffcompare.ad import kinks\n"))]
    assert _cycles(_ad_import_graph(planted)) == [
        ["diffcompare.ad.kinks", "diffcompare.ad.staging", "diffcompare.ad.kinks"]]
