"""What a compiled read is: the ``SelectPlan`` (collection, pipeline, how to read each row).

Every builder above returns one: ``SelectBuilder`` for a query, ``combinators`` for a union,
``SQLAggregateCompiler`` for an aggregate over a query. ``slice_stages`` is OFFSET/LIMIT, the
last step of both a query and a combined query.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from ..errors import MigrationError
from ..mongo_command import FindCommand, MongoCommand
from .mql_types import Document, Pipeline, Stage

MISSING = object()

#: The stages a ``find`` command also has, in the order it applies them, with its argument.
FIND_STAGES = {
    "$match": "filter",
    "$sort": "sort",
    "$skip": "skip",
    "$limit": "limit",
    "$project": "projection",
}
#: aggregate's options find takes, with find()'s name for them.
FIND_OPTIONS = {"batchSize": "batch_size"}


@dataclass
class SelectPlan:
    #: None for a pipeline of no collection (it starts with ``$documents``).
    collection: str | None
    pipeline: Pipeline
    #: Per column: (path in the result document, field required by ENFORCE_SCHEMA or None).
    readers: list[tuple[tuple[str, ...], Any]]
    enforce_collection: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    # Inside a transaction a combined query is no pipeline but one per queryset, combined by
    # the client (combinators.ClientCombination).
    combination: Any = None
    # A subquery's plan: the outer query's columns it reads, as the ``let`` of the $lookup
    # that runs it (name -> the outer expression; filled while the plan is built).
    outer_variables: dict[str, Any] = field(default_factory=dict)
    #: ``row_reader()``'s result, once made (a cached read shape hands its own in).
    reader: Callable[[Document], list[Any]] | None = None

    def command(self, *, fetch_all: bool = False, **options: Any) -> MongoCommand:
        """The command that reads this plan's rows: ``find`` when the pipeline says nothing
        find cannot (``find_arguments``), else ``aggregate``. ``options`` are aggregate's
        (``batchSize``); ``fetch_all``: the caller reads every row (FindCommand)."""
        if self.combination is not None:
            return self.combination.command(self.collection)
        find = find_arguments(self.pipeline) if self.collection is not None else None
        if find is None or not FIND_OPTIONS.keys() >= options.keys():
            return MongoCommand(self.collection, "aggregate", self.pipeline, **options)
        for name, value in options.items():
            find[FIND_OPTIONS[name]] = value
        return FindCommand(self.collection, fetch_all=fetch_all, **find)

    def row_reader(self) -> Callable[[Document], list[Any]]:
        """``read_row``, or a faster equivalent: the columns are read in runs of the same
        parent (the document itself, then each joined document), each run with one list
        comprehension when its document is a dict holding all its keys. A row that does
        not (a column missing: ENFORCE_SCHEMA's MigrationError or None; no joined document
        after an outer join) takes ``read_row``."""
        if self.reader is None:
            self.reader = self._make_reader()
        return self.reader

    def _make_reader(self) -> Callable[[Document], list[Any]]:
        runs: list[tuple[tuple[str, ...], list[str], frozenset[str]]] = []
        for path, _required in self.readers:
            parent, key = path[:-1], path[-1]
            if runs and runs[-1][0] == parent:
                runs[-1][1].append(key)
            else:
                runs.append((parent, [key], frozenset()))
        runs = [(parent, keys, frozenset(keys)) for parent, keys, _needed in runs]
        # Not the bound method: the plan keeps the reader, which must not keep the plan (a
        # reference cycle left for the garbage collector on every read).
        slow = partial(read_document, self.readers, self.enforce_collection)
        if len(runs) == 1 and not runs[0][0]:
            _parent, keys, needed = runs[0]

            def read(document):
                if document.keys() >= needed:
                    return [document[key] for key in keys]
                return slow(document)

            return read

        def read_runs(document):
            row = []
            for parent, keys, needed in runs:
                inner = document
                for key in parent:
                    inner = inner.get(key) if type(inner) is dict else None
                if type(inner) is not dict or not inner.keys() >= needed:
                    return slow(document)
                row += [inner[key] for key in keys]
            return row

        return read_runs

    def read_row(self, document: Document) -> list[Any]:
        return read_document(self.readers, self.enforce_collection, document)


def read_document(
    readers: list[tuple[tuple[str, ...], Any]], enforce_collection: str | None, document: Document
) -> list[Any]:
    """The row of ``document``, column by column (SelectPlan.readers): None for a missing
    value, MigrationError for a missing required column (ENFORCE_SCHEMA)."""
    row = []
    for path, required in readers:
        value: Any = document
        for key in path:
            if value is None:
                break
            if isinstance(value, dict):
                value = value.get(key, MISSING)
                if value is MISSING:
                    if required is not None and len(path) == 1:
                        raise MigrationError(enforce_collection, document.get("_id"), required)
                    value = None
                    break
            else:
                value = None
                break
        row.append(value)
    return row


def slice_stages(query: Any) -> list[Stage]:
    """OFFSET/LIMIT of ``query`` as ``$skip``/``$limit`` stages."""
    low, high = query.low_mark, query.high_mark
    stages = []
    if low:
        stages.append({"$skip": low})
    if high is not None:
        stages.append({"$limit": high - low})
    return stages


def find_arguments(pipeline: Pipeline) -> dict[str, Any] | None:
    """``find()``'s arguments for a pipeline that means the same as a find command: at most
    one each of ``$match``, ``$sort``, ``$skip``, ``$limit``, ``$project`` in that order (the
    order find applies its filter, sort, skip, limit and projection), the sort on fields, a
    positive limit and a projection that only includes fields. None for any other pipeline.

    A plain read then runs as a find (the server's cheapest read path) with the same result.
    """
    names = list(FIND_STAGES)
    arguments: dict[str, Any] = {}
    position = 0
    for stage in pipeline:
        if len(stage) != 1:
            return None
        ((name, value),) = stage.items()
        try:
            position = names.index(name, position) + 1
        except ValueError:
            return None
        arguments[FIND_STAGES[name]] = value
    sort = arguments.get("sort")
    limit = arguments.get("limit")
    projection = arguments.get("projection")
    if (
        (sort is not None and not all(type(v) is int and v in (1, -1) for v in sort.values()))
        or (limit is not None and not (type(limit) is int and limit > 0))
        or (
            projection is not None
            and not all(type(v) is int and v == 1 for v in projection.values())
        )
        or ("skip" in arguments and not (type(arguments["skip"]) is int and arguments["skip"] >= 0))
    ):
        return None
    arguments.setdefault("filter", {})
    return arguments
