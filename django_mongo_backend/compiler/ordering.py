"""ORDER BY -> ``$sort``, with SQL's NULLS FIRST / NULLS LAST.

MongoDB sorts null (and missing) below every value: first ascending, last descending. A term
asking for the other placement sorts first on a flag computed from its key (1 when the value
is not null), in an ``$addFields`` stage before the ``$sort``, since ``$sort`` takes keys only.
Both the SELECT pipeline and the combined queries (and their client-side sort inside a
transaction) build their order here.
"""

from __future__ import annotations

from .nulls import is_not_null


def moves_nulls(descending, nulls_first, nulls_last):
    """Whether NULLS FIRST/LAST differs from MongoDB's order (null below every value)."""
    return bool((nulls_first and descending) or (nulls_last and not descending))


class Sort:
    """A ``$sort`` document (``keys``) and the null flags it sorts on (``null_flags``).

    A plain class, not a dataclass: every compile makes one, most of them empty, and a
    dataclass's ``default_factory`` fields cost more to set up than these two dicts."""

    __slots__ = ("keys", "null_flags")

    def __init__(self):
        self.keys = {}
        self.null_flags = {}

    def add(self, key, flag, *, descending, nulls_first=False, nulls_last=False):
        """Sort on the document key ``key``; ``flag`` names its null flag if it needs one. A
        key already sorted on keeps its first direction (``$sort`` holds a key once)."""
        if (nulls_first or nulls_last) and moves_nulls(descending, nulls_first, nulls_last):
            self.null_flags[flag] = {"$cond": [is_not_null(f"${key}"), 1, 0]}
            self.keys[flag] = 1 if nulls_first else -1
        self.keys.setdefault(key, -1 if descending else 1)

    def stages(self):
        """The stages that sort: the null flags first (they read the keys), then ``$sort``
        (a null flag is always a key too)."""
        if not self.keys:
            return ()
        if self.null_flags:
            return ({"$addFields": self.null_flags}, {"$sort": self.keys})
        return ({"$sort": self.keys},)
