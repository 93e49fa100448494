"""``distinct(*fields)``: PostgreSQL's ``SELECT DISTINCT ON (...)``.

PostgreSQL keeps "only the first row of each set of rows where the given expressions evaluate
to equal", first in the query's ORDER BY (PostgreSQL's manual, SELECT, "DISTINCT Clause").
MongoDB says the same in three stages, after the ORDER BY's ``$sort``:

- ``$group`` by the DISTINCT ON values, keeping ``$first: "$$ROOT"``: ``$first`` takes the
  first document of the group in the order documents enter it, which the ``$sort`` before it
  fixes (MongoDB's manual, ``$first`` (aggregation accumulator));
- ``$replaceRoot`` to that document, so that the columns are read as in a plain read (by
  path: joined documents, computed columns and ``values()`` alike);
- the ``$sort`` again: ``$group`` outputs its groups in no particular order.

PostgreSQL's rules kept here:

- NULLs are one group (DISTINCT compares NULLs as equal): a key a document lacks (an outer
  join that found nothing) is made null, so it groups with a stored null (``$group`` keeps a
  missing key apart from a null one);
- ``ORDER BY`` must begin with the DISTINCT ON expressions (in any order among themselves):
  PostgreSQL's ``transformDistinctOnClause`` (parser/parse_clause.c) refuses a DISTINCT ON
  expression found, or left over, after an ORDER BY term that is not one, with "SELECT
  DISTINCT ON expressions must match initial ORDER BY expressions" (SQLSTATE 42P10, which
  Django's PostgreSQL backend raises as ``ProgrammingError``). With no ORDER BY at all, the
  row kept for each group is any of them.
"""

from __future__ import annotations

from typing import Any

from django.db import ProgrammingError
from django.db.models.constants import LOOKUP_SEP
from django.db.models.expressions import Ref

from .mql_types import AggregationExpression, Stage
from .nulls import null_if_missing

MISMATCH = "SELECT DISTINCT ON expressions must match initial ORDER BY expressions"

#: The key of the kept document while the groups are formed.
ROW = "__row"


def distinct_expressions(compiler: Any) -> list[Any]:
    """The DISTINCT ON expressions of ``compiler``'s query, resolved as Django's
    ``SQLCompiler.get_distinct`` resolves them (so a related path sets up its join): a
    column, a transform of one, or a selected annotation. Called before the joins are laid
    out."""
    query = compiler.query
    opts = query.get_meta()
    expressions = []
    for name in query.distinct_fields:
        parts = name.split(LOOKUP_SEP)
        _, targets, alias, joins, path, _, transform = compiler._setup_joins(parts, opts, None)
        targets, alias, _ = query.trim_joins(targets, joins, path)
        for target in targets:
            if name in query.annotation_select:
                expressions.append(query.annotation_select[name])
            else:
                expressions.append(transform(target, alias))
    return expressions


def _unreferenced(expression: Any) -> Any:
    """An ORDER BY term naming a selected column (``Ref``, Django 6.1's ``PositionRef``) is
    that column's expression."""
    while isinstance(expression, Ref):
        expression = expression.source
    return expression


def check_ordering(distinct: list[Any], ordering: Any) -> None:
    """PostgreSQL's rule: the ORDER BY terms, up to the first that is not a DISTINCT ON
    expression, hold every DISTINCT ON expression; none comes after that term."""
    if not ordering:
        return
    wanted = set(distinct)
    covered = set()
    skipped = False
    for order, _is_ref in ordering:
        expression = _unreferenced(order.expression)
        if expression in wanted:
            if skipped:
                raise ProgrammingError(MISMATCH)
            covered.add(expression)
        else:
            skipped = True
    if skipped and covered != wanted:
        raise ProgrammingError(MISMATCH)


def first_of_each(keys: list[AggregationExpression], sort_stages: Any) -> list[Stage]:
    """The stages after the ORDER BY's ``sort_stages``: one document per distinct ``keys``
    (compiled expressions), the first in that order, then sorted again."""
    group_id = {f"d{index}": null_if_missing(key) for index, key in enumerate(keys)}
    stages: list[Stage] = [
        {"$group": {"_id": group_id, ROW: {"$first": "$$ROOT"}}},
        {"$replaceRoot": {"newRoot": f"${ROW}"}},
    ]
    # The null flags of NULLS FIRST/LAST were computed before the group, into the documents.
    stages.extend(stage for stage in sort_stages if "$sort" in stage)
    return stages
