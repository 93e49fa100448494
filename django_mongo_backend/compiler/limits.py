"""Limits MongoDB puts on the commands the compiler builds, checked before anything is sent.

A command MongoDB would refuse is refused here instead, with a Django error that names the
query's own terms rather than the compiled keys (``c0``, ``__n1``) the server would name.

- ``$sort`` takes at most 32 keys (manual, "MongoDB Limits and Thresholds": Maximum Number of
  Sort Keys). An ORDER BY term with NULLS FIRST/LAST that differs from MongoDB's own null
  placement sorts on two keys: the null flag and the value.
"""

from __future__ import annotations

from django.db import NotSupportedError
from django.db.models.expressions import Col, Ref

MAX_SORT_KEYS = 32


def term_name(expression):
    if isinstance(expression, Ref):
        return expression.refs
    if isinstance(expression, Col):
        return expression.target.name
    return str(expression)


def check_sort(sort, ordering):
    """Raise NotSupportedError if the ``$sort`` document ``sort`` has too many keys;
    ``ordering`` is the ORDER BY it was built from: ((OrderBy, is_ref), ...)."""
    if len(sort) <= MAX_SORT_KEYS:
        return
    names = ", ".join(term_name(order.expression) for order, _is_ref in ordering)
    raise NotSupportedError(
        f"order_by() needs {len(sort)} sort keys but MongoDB's $sort takes at most "
        f"{MAX_SORT_KEYS} (a NULLS FIRST/LAST term takes two): {names}"
    )
