"""The shape of the package (issue 15): no import circle between modules, each blueprint named after its module,
and what templates see registered in one place (`intranet/templating.py`)."""
import ast
import re
from pathlib import Path

import pytest

INTRANET = Path(__file__).resolve().parent.parent / "intranet"


def _modules() -> dict[str, Path]:
    found = {}
    for path in INTRANET.rglob("*.py"):
        if "migrations" in path.relative_to(INTRANET).parts:
            continue
        name = ".".join(path.relative_to(INTRANET.parent).with_suffix("").parts)
        found[name.removesuffix(".__init__")] = path
    return found


def _graph() -> dict[str, set[str]]:
    """Module -> the intranet modules it imports, at the top or inside a function alike (a late import is still a
    circle: it only hides it from the interpreter). Edges into the app factory (`intranet` itself, which wires
    every blueprint) are left out: commands import `create_app` to build an app."""
    modules = _modules()
    graph = {name: set() for name in modules}
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    target = f"{node.module}.{alias.name}"
                    graph[name].add(target if target in modules else node.module)
            elif isinstance(node, ast.Import):
                graph[name].update(alias.name for alias in node.names)
        graph[name] = {target for target in graph[name] if target in modules and target not in (name, "intranet")}
    return graph


def _cycles(graph) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_circle():
    assert _cycles(_graph()) == []


def test_the_cycle_finder_finds_a_circle():
    """The check itself can fail: a made-up circle of three is found, a chain is not."""
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_each_blueprint_is_named_after_its_module(app):
    """`payouts/batch_views.py` registers `batch`, `payouts/views.py` registers `payouts`: an endpoint's name says
    which file holds it."""
    for name, blueprint in app.blueprints.items():
        module = blueprint.import_name.rsplit(".", 1)
        expected = module[0].rsplit(".", 1)[-1] if module[1] == "views" else module[1].removesuffix("_views")
        assert name == expected, f"{blueprint.import_name} registers {name!r}"


@pytest.mark.parametrize("pattern", [r"jinja_env\.(globals|filters)", r"add_(app_)?template_(global|filter)",
                                     r"context_processor"])
def test_template_names_are_registered_in_one_place(pattern):
    """Only templating.py (what templates see) and i18n.py (the language helpers, beside Babel) register names."""
    registering = {path.relative_to(INTRANET).as_posix() for path in INTRANET.rglob("*.py")
                   if re.search(pattern, path.read_text(encoding="utf-8"))}
    assert registering <= {"templating.py", "i18n.py"}


def test_a_name_registered_twice_stops_the_start(app):
    from intranet import templating

    with pytest.raises(RuntimeError, match="registered twice"):
        templating.init_app(app)


def test_every_package_is_listed_for_installation():
    """pyproject.toml names the packages a wheel carries: a new feature package left out would be missing from
    an installed Diwan (the editable install of the tests would not show it)."""
    import tomllib

    listed = set(tomllib.loads((INTRANET.parent / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(path.parent.relative_to(INTRANET.parent).parts) for path in INTRANET.rglob("__init__.py")
             if "translations" not in path.parts}
    assert found <= listed, sorted(found - listed)
