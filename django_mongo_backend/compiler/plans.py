"""What a compiled read is: the ``SelectPlan`` (collection, pipeline, how to read each row).

Every builder above returns one: ``SelectBuilder`` for a query, ``combinators`` for a union,
``SQLAggregateCompiler`` for an aggregate over a query. ``slice_stages`` is OFFSET/LIMIT, the
last step of both a query and a combined query.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import MigrationError
from ..mongo_command import MongoCommand

MISSING = object()


@dataclass
class SelectPlan:
    collection: str
    pipeline: list
    readers: list  # per column: (path tuple, field required by ENFORCE_SCHEMA or None)
    enforce_collection: str | None = None
    options: dict = field(default_factory=dict)
    # Inside a transaction a combined query is no pipeline but one per queryset, combined by
    # the client (combinators.ClientCombination).
    combination: object = None
    # A subquery's plan: the outer query's columns it reads, as the ``let`` of the $lookup
    # that runs it (name -> the outer expression; filled while the plan is built).
    outer_variables: dict = field(default_factory=dict)

    def command(self, **options):
        """The command that reads this plan's rows."""
        if self.combination is not None:
            return self.combination.command(self.collection)
        return MongoCommand(self.collection, "aggregate", self.pipeline, **options)

    def row_reader(self):
        """``read_row``, or a faster equivalent when every column is a top-level key: a
        document holding them all is read with one list comprehension; one that lacks some
        takes ``read_row`` (ENFORCE_SCHEMA's MigrationError, or None)."""
        if any(len(path) != 1 for path, _required in self.readers):
            return self.read_row
        keys = [path[0] for path, _required in self.readers]
        needed = frozenset(keys)
        slow = self.read_row

        def read(document):
            if document.keys() >= needed:
                return [document[key] for key in keys]
            return slow(document)

        return read

    def read_row(self, document):
        row = []
        for path, required in self.readers:
            value = document
            for key in path:
                if value is None:
                    break
                if isinstance(value, dict):
                    value = value.get(key, MISSING)
                    if value is MISSING:
                        if required is not None and len(path) == 1:
                            raise MigrationError(
                                self.enforce_collection, document.get("_id"), required
                            )
                        value = None
                        break
                else:
                    value = None
                    break
            row.append(value)
        return row


def slice_stages(query):
    """OFFSET/LIMIT of ``query`` as ``$skip``/``$limit`` stages."""
    low, high = query.low_mark, query.high_mark
    stages = []
    if low:
        stages.append({"$skip": low})
    if high is not None:
        stages.append({"$limit": high - low})
    return stages
