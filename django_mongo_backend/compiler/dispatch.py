"""Finding a node's translation in a table keyed by Django class.

Every translation table (``ExpressionCompiler`` handlers, ``functions.FUNCTIONS``,
``aggregates.AGGREGATES``, ``json_fields.HANDLERS``...) is keyed by the class it translates;
a subclass (Django's own, a project's) takes its nearest ancestor's entry, as method
resolution would.

A compile asks several tables about every node, most of them about classes they do not hold
(a column is in no function table), and each such miss walks the whole MRO. So the answer is
kept per table and class: the tables are complete once their modules are imported (the entries
added after the literal are added at import), and a class's MRO never changes. The answers are
found by the table's ``id()`` then the class, two dict reads and no tuple built (by_class runs
for nearly every node of every compile); ``_tables`` keeps each table alive, so that its id is
never another object's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: id(table) -> {class: entry, or None when no class of its MRO is in the table}.
_resolved: dict[int, dict[type, Any]] = {}
#: id(table) -> table: a table is never freed once asked, so its id cannot be reused.
_tables: dict[int, Mapping[type, Any]] = {}


def by_class[Entry](table: Mapping[type, Entry], node: object) -> Entry | None:
    """The entry of ``table`` for the nearest class of ``node`` in its MRO, or None."""
    try:
        return _resolved[id(table)][type(node)]
    except KeyError:
        pass
    klass = type(node)
    entry = None
    for ancestor in klass.__mro__:
        entry = table.get(ancestor)
        if entry is not None:
            break
    _tables[id(table)] = table
    _resolved.setdefault(id(table), {})[klass] = entry
    return entry
