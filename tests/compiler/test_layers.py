"""The compiler's modules import one way: from the layers below, never from above.

The order is the list in ``django_mongo_backend/compiler/__init__.py``'s docstring (one place
to read it, one place to change it). Every import is read from the source (``ast``), at
module level and inside functions alike, so a cycle cannot hide behind a function-level
import.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import django_mongo_backend.compiler as compiler_package

PACKAGE = "django_mongo_backend.compiler"
DIRECTORY = Path(compiler_package.__file__).parent
#: "- name of the layer: module, module," and its continuation lines.
LAYER_LINE = re.compile(r"^- [^:]+:(?P<modules>.*)$")


def declared_order():
    """The modules in the docstring's order, bottom first: [(layer number, module)]."""
    docstring = compiler_package.__doc__
    order, layer, collecting = [], 0, False
    for line in docstring.splitlines():
        match = LAYER_LINE.match(line)
        if match:
            layer += 1
            collecting = True
            names = match["modules"]
        elif collecting and line.startswith("  ") and line.strip():
            names = line
        else:
            collecting = False
            continue
        order.extend((layer, name.strip()) for name in names.split(",") if name.strip())
    return order


def module_names():
    return sorted(path.stem for path in DIRECTORY.glob("*.py"))


def imported_modules(source):
    """The compiler modules a module's ``source`` imports, anywhere in it: [(line, module)]."""
    tree = ast.parse(source)
    # A relative import is relative to the package the module is in (for every module here,
    # including __init__, that is the compiler package itself).
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1:
                base = PACKAGE + ("." + node.module if node.module else "")
            elif node.level == 0:
                base = node.module
            else:
                continue  # the backend around the compiler (..operations, ..mongo_command)
            # "from package import module" imports the module; "from module import name", the
            # module.
            submodules = [f"{base}.{alias.name}" for alias in node.names]
            submodules = [dotted for dotted in submodules if _compiler_module(dotted)]
            targets = submodules or [base]
        elif isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            continue
        for target in targets:
            module = _compiler_module(target)
            if module is not None:
                found.append((node.lineno, module))
    return found


def _compiler_module(dotted):
    """The compiler module a dotted name is (``__init__`` for the package), or None."""
    if dotted == PACKAGE:
        return "__init__"
    if not dotted.startswith(PACKAGE + "."):
        return None
    name = dotted[len(PACKAGE) + 1 :].split(".")[0]
    return name if name != "__init__" and (DIRECTORY / f"{name}.py").exists() else None


def test_the_docstring_lists_every_module_once():
    names = [name for _layer, name in declared_order()]
    assert len(names) == len(set(names)), names
    assert sorted(names) == module_names()


def upward_imports(name, source):
    position = {module: index for index, (_layer, module) in enumerate(declared_order())}
    return [
        f"{name}.py:{line} imports {module}, which is listed after it"
        for line, module in imported_modules(source)
        if module != name and position[module] > position[name]
    ]


@pytest.mark.parametrize("name", module_names())
def test_imports_point_down_the_layers(name):
    wrong = upward_imports(name, (DIRECTORY / f"{name}.py").read_text())
    assert not wrong, "\n".join(wrong)


def test_the_reader_sees_relative_function_level_and_absolute_imports():
    """The checker itself: it finds each import form, wherever it is written."""
    source = (
        "from . import nulls, scopes\n"
        "from .conditions import ConditionCompiler\n"
        "import django_mongo_backend.compiler.plans\n"
        "from django_mongo_backend.compiler import ordering\n"
        "from ..operations import document_key\n"
        "def late():\n"
        "    from .pipeline import SelectBuilder\n"
    )
    modules = {module for _line, module in imported_modules(source)}
    assert modules == {"nulls", "scopes", "conditions", "plans", "ordering", "pipeline"}
    # conditions.py importing the pipeline builder, even inside a function, is refused.
    assert upward_imports("conditions", source) == [
        "conditions.py:7 imports pipeline, which is listed after it"
    ]
