"""docs/architecture.rst's table "Django construct -> handler -> module" is the registries'.

The table between the ``generated index`` markers is rendered from the translation tables
themselves (``ExpressionCompiler._handlers``, ``functions.FUNCTIONS``, ``aggregates.AGGREGATES``,
``lookups.FILTERS`` / ``EXPRESSIONS``, ``json_fields.HANDLERS``, ``windows.FUNCTIONS``,
``conditions.YEAR_BOUNDS``), so
an entry added to a table and not to the page (or the reverse) fails here. To rewrite the
table after changing a registry::

    PYTHONPATH=$PWD python tests/compiler/test_architecture_index.py

The page's list of layers is checked against compiler/__init__.py's too.
"""

from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path

import django

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "architecture.rst"
BEGIN = ".. generated index: begin (tests/compiler/test_architecture_index.py writes it)"
END = ".. generated index: end"
#: The page is rendered with Django 6: on it, every row must be in a table. Django 5.2 lacks
#: some of the constructs (aggregates, JSON lookups), found missing in these modules.
RENDERED_WITH = (6, 0)
DJANGO_MODULES = {
    "aggregate": "django.db.models.aggregates",
    "function": "django.db.models.functions",
    "JSONField": "django.db.models.fields.json",
}


def _handler_name(handler):
    """``ExpressionCompiler.column``, ``_coalesce``, or ``_operator()`` for a builder that a
    factory made (``_operator("$abs")``)."""
    qualname = getattr(handler, "__qualname__", repr(handler))
    if ".<locals>." in qualname:
        return qualname.split(".<locals>.")[0] + "()"
    return qualname


def index_rows():
    """(construct, kind, handler, module) for every entry of every translation table."""
    from django_mongo_backend.compiler import (
        aggregates,
        conditions,
        functions,
        json_fields,
        lookups,
        windows,
    )
    from django_mongo_backend.compiler.expressions import ExpressionCompiler

    rows = []

    def add(table, kind, module):
        for klass, handler in table.items():
            rows.append((klass.__name__, kind, _handler_name(handler), module))

    add(ExpressionCompiler._handlers, "expression", "expressions.py")
    add(functions.SELF_COMPILED, "function", "functions.py")
    add(functions.FUNCTIONS, "function", "functions.py")
    add(aggregates.AGGREGATES, "aggregate", "aggregates.py")
    add(json_fields.HANDLERS, "JSONField", "json_fields.py")
    add(windows.FUNCTIONS, "window function", "windows.py")
    for klass in conditions.YEAR_BOUNDS:
        rows.append(
            (klass.__name__, "year lookup", "ConditionCompiler._year_bounds", "conditions.py")
        )
    for name in sorted(set(lookups.FILTERS) | set(lookups.EXPRESSIONS)):
        handlers = []
        if name in lookups.FILTERS:
            handlers.append("FILTERS: " + _handler_name(lookups.FILTERS[name]))
        if name in lookups.EXPRESSIONS:
            handlers.append("EXPRESSIONS: " + _handler_name(lookups.EXPRESSIONS[name]))
        rows.append((f"__{name}", "lookup", "; ".join(handlers), "lookups.py"))
    return sorted(set(rows), key=lambda row: (row[1].lower(), row[0].lower()))


def render(rows):
    lines = [
        ".. csv-table::",
        '   :header: "Django construct", "kind", "handler", "module (compiler/)"',
        "   :widths: 30, 15, 40, 15",
        "",
    ]
    for row in rows:
        lines.append(
            "   "
            + ", ".join(f'"``{cell}``"' if i != 1 else f'"{cell}"' for i, cell in enumerate(row))
        )
    return "\n".join(lines)


def documented_block():
    text = PAGE.read_text()
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    return text, start, end


def documented_rows():
    text, start, end = documented_block()
    return {line.strip() for line in text[start:end].splitlines() if line.startswith('   "')}


def test_every_registry_entry_is_in_the_page():
    rendered = {
        line.strip() for line in render(index_rows()).splitlines() if line.startswith('   "')
    }
    missing = rendered - documented_rows()
    assert not missing, (
        "docs/architecture.rst lacks these translations; rewrite its table with "
        "`python tests/compiler/test_architecture_index.py`:\n" + "\n".join(sorted(missing))
    )


def _in_this_django(row):
    """Whether the construct of a page row exists in the running Django."""
    construct, kind = (cell.strip('"`') for cell in row.split(", ")[:2])
    module = DJANGO_MODULES.get(kind)
    return module is None or hasattr(importlib.import_module(module), construct)


def test_every_row_of_the_page_is_in_a_registry():
    rendered = {
        line.strip() for line in render(index_rows()).splitlines() if line.startswith('   "')
    }
    stale = {
        row
        for row in documented_rows() - rendered
        if django.VERSION[:2] >= RENDERED_WITH or _in_this_django(row)
    }
    assert not stale, "rows of docs/architecture.rst no table has:\n" + "\n".join(sorted(stale))


def test_the_page_lists_the_layers_in_the_declared_order():
    from tests.compiler.test_layers import declared_order

    text = PAGE.read_text()
    section = text[text.index("The layers\n") : text.index("Where a new translation goes")]
    declared = [name for _layer, name in declared_order()]
    named = [name for name in re.findall(r"``(\w+)``", section) if name in declared]
    assert named == declared


def main():
    text, start, end = documented_block()
    PAGE.write_text(text[:start] + "\n\n" + render(index_rows()) + "\n\n" + text[end:])


if __name__ == "__main__":
    sys.exit(main())
