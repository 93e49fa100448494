"""Finding a node's translation in a table keyed by Django class.

Every translation table (``ExpressionCompiler`` handlers, ``functions.FUNCTIONS``,
``aggregates.AGGREGATES``, ``json_fields.HANDLERS``...) is keyed by the class it translates;
a subclass (Django's own, a project's) takes its nearest ancestor's entry, as method
resolution would.

A compile asks several tables about every node, most of them about classes they do not hold
(a column is in no function table), and each such miss walks the whole MRO. So the answer is
kept per (table, class): the tables are complete once their modules are imported (the entries
added after the literal are added at import), and a class's MRO never changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: (id(table), class) -> (table, entry): the table is kept so that its id cannot be reused.
_resolved: dict[tuple[int, type], tuple[Mapping[type, Any], Any]] = {}


def by_class[Entry](table: Mapping[type, Entry], node: object) -> Entry | None:
    """The entry of ``table`` for the nearest class of ``node`` in its MRO, or None."""
    klass = type(node)
    key = (id(table), klass)
    found = _resolved.get(key)
    if found is not None and found[0] is table:
        return found[1]
    entry = None
    for ancestor in klass.__mro__:
        entry = table.get(ancestor)
        if entry is not None:
            break
    _resolved[key] = (table, entry)
    return entry
