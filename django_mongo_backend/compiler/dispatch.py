"""Finding a node's translation in a table keyed by Django class.

Every translation table (``ExpressionCompiler`` handlers, ``functions.FUNCTIONS``,
``aggregates.AGGREGATES``, ``json_fields.HANDLERS``...) is keyed by the class it translates;
a subclass (Django's own, a project's) takes its nearest ancestor's entry, as method
resolution would.
"""

from __future__ import annotations

from collections.abc import Mapping


def by_class[Entry](table: Mapping[type, Entry], node: object) -> Entry | None:
    """The entry of ``table`` for the nearest class of ``node`` in its MRO, or None."""
    for klass in type(node).__mro__:
        entry = table.get(klass)
        if entry is not None:
            return entry
    return None
