"""CheckConstraint conditions -> clauses of a collection's validator.

SQL accepts a row unless its CHECK condition is FALSE: a condition that is UNKNOWN because a
column is NULL passes. The clause is therefore "the condition is not FALSE", built with
the ConditionCompiler's polarity (``expression(node, positive=False)`` is TRUE exactly when the
node is FALSE), on the document's own keys.
"""

from __future__ import annotations

from django.db.models.sql.query import Query

from .expressions import ExpressionCompiler
from .scopes import Scope


def check_clause(connection, model, condition):
    """An aggregation expression a document satisfies unless ``condition`` is FALSE for it."""
    query = Query(model=model, alias_cols=False)
    where = query.build_where(condition)
    compiler = query.get_compiler(connection=connection)
    expression_compiler = ExpressionCompiler(compiler, Scope(None))
    is_false = expression_compiler.conditions.expression(where, positive=False)
    if expression_compiler.prelude:
        raise ValueError("the condition needs other collections")
    return {"$not": [is_false]}
