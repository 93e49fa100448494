"""The values a query plan compares with, for corrections that must see them all.

Some values cannot go through the SQLite engine's pushdown (NaN and the infinities, strings
holding NUL): a correction sends a filter to the Python path when any operand of its plan is
one of them. mongoeco's plan nodes keep their operands in ``value``/``values`` and their
children in ``clause``/``clauses``, nested in dicts, lists and tuples.
"""

from __future__ import annotations

_NODE_ATTRIBUTES = ("value", "values", "clause", "clauses")


def plan_operands(plan, *, keys=False):
    """Every scalar and plan node below ``plan`` (with ``keys``, the keys of its dicts too)."""
    pending, seen = [plan], set()
    while pending:
        current = pending.pop()
        if current is None:
            continue
        if isinstance(current, (str, bytes, int, float)):
            yield current
            continue
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, dict):
            if keys:
                pending.extend(current.keys())
            pending.extend(current.values())
        elif isinstance(current, (list, tuple, set, frozenset)):
            pending.extend(current)
        else:
            yield current
            pending.extend(getattr(current, name, None) for name in _NODE_ATTRIBUTES)
