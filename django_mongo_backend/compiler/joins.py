"""Django joins (``query.alias_map``) -> ``$lookup`` + ``$unwind`` stages.

Each joined alias becomes a sub-document under the alias name. ``$lookup`` with
``localField``/``foreignField`` matches equal values (and uses the foreign index); ``$unwind``
then yields one document per match, as a SQL join yields one row per match. LEFT OUTER joins
keep documents without a match (``preserveNullAndEmptyArrays``); INNER joins drop them.

SQL never joins on NULL (``NULL = NULL`` is not true), but ``$lookup`` equality matches a null
or missing local key with every foreign document whose key is null or missing. A local key is
null when its column is nullable, and missing when its alias was outer-joined and found
nothing. When the foreign key can be null too, the join's pipeline first drops foreign
documents whose key is null (``{key: {$ne: null}}``, a query-language match that MongoDB
applies together with ``localField``/``foreignField``, 5.0+): non-null keys join as before,
through the foreign index.
"""

from __future__ import annotations

from django.db import NotSupportedError
from django.db.models.sql.constants import LOUTER
from django.db.models.sql.datastructures import BaseTable

from ..operations import document_key
from . import composite_keys
from .expressions import ExpressionCompiler
from .generated import read_stage
from .scopes import Scope


def join_stages(query, scope, expression_compiler):
    """The stages joining every alias in use; ``expression_compiler`` (the query's
    ExpressionCompiler) compiles FilteredRelation conditions."""
    stages = []
    outer_joined = set()
    for alias, join in query.alias_map.items():
        if isinstance(join, BaseTable) or not query.alias_refcount.get(alias):
            continue
        scope.prefixes[alias] = alias
        if join.join_fields:
            lookup = _key_lookup(join, alias, scope, stages, outer_joined)
            lookup.update(_join_condition(join, alias, scope, expression_compiler))
            foreign_model = join.join_fields[0][1].model
            virtual = read_stage(expression_compiler.query_compiler, foreign_model)
            if virtual is not None:
                # Before the join's own conditions, which may read them.
                lookup["pipeline"] = [virtual, *lookup.get("pipeline", [])]
            _add_key_tests(lookup, join, scope, outer_joined)
        else:
            # A relation joined by its extra restriction alone (Django's get_joining_fields()
            # returns nothing): the $lookup pipeline is the whole ON clause.
            lookup = {"from": join.table_name, "as": alias}
            lookup.update(_join_condition(join, alias, scope, expression_compiler))
            if "pipeline" not in lookup:
                raise ValueError("Join generated an empty ON clause.")  # Django's error
        if join.join_type == LOUTER or join.parent_alias in outer_joined:
            outer_joined.add(alias)
        stages.append({"$lookup": lookup})
        stages.append(
            {
                "$unwind": {
                    "path": f"${alias}",
                    "preserveNullAndEmptyArrays": join.join_type == LOUTER,
                }
            }
        )
    return stages


def _key_lookup(join, alias, scope, stages, outer_joined):
    """The ``$lookup`` on the join's key columns (a stage building a composite key document
    first goes into ``stages``); ``_add_key_tests`` adds what its pipeline checks."""
    key_stage, (local_field, foreign_field), _rest = _key_columns(join, alias, scope)
    if key_stage is not None:
        stages.append(key_stage)
        local_path = f"__key_{alias}"
    else:
        local_path = scope.path(join.parent_alias, local_field)
    return {
        "from": join.table_name,
        "localField": local_path,
        "foreignField": document_key(foreign_field),
        "as": alias,
    }


def _add_key_tests(lookup, join, scope, outer_joined):
    """The NULL guard of the first key pair and the equalities of the other pairs, at the
    front of the ``$lookup``'s pipeline (before a FilteredRelation's condition)."""
    key_stage, (local_field, foreign_field), rest = _key_columns(join, lookup["as"], scope)
    local_may_be_null = local_field.null or join.parent_alias in outer_joined
    if key_stage is None and local_may_be_null and foreign_field.null:
        guard = {"$match": {document_key(foreign_field): {"$ne": None}}}
        lookup["pipeline"] = [guard, *lookup.get("pipeline", [])]
    if rest:
        _join_rest(lookup, rest, join.parent_alias, scope)


def _key_columns(join, alias, scope):
    """The equality the ``$lookup``'s localField/foreignField runs, and the column pairs left.

    A join on the whole composite primary key of the joined model (composite_keys.py) matches
    ``_id``, through its unique index: the local columns are first put together as the key
    document (``__key_<alias>``, the components in the key's order). A local NULL (or a
    column missing after an outer join) gives a document no ``_id`` equals, as SQL never joins
    on NULL. Another join on several columns matches the first pair there and the others in
    the ``$lookup``'s pipeline (``_join_rest``).
    """
    pairs = list(join.join_fields)
    foreign_fields = tuple(foreign for _local, foreign in pairs)
    model = foreign_fields[0].model
    if len(pairs) > 1 and composite_keys.key_fields(model) == foreign_fields:
        key = {
            foreign.column: "$" + scope.path(join.parent_alias, local) for local, foreign in pairs
        }
        stage = {"$addFields": {f"__key_{alias}": key}}
        return stage, (pairs[0][0], model._meta.pk), []
    return None, pairs[0], pairs[1:]


def _join_rest(lookup, rest, parent_alias, scope):
    """The column pairs of a multi-column join beyond the first, as ``$expr`` equalities in the
    ``$lookup``'s pipeline; a NULL on either side joins nothing, as in SQL (``$gt: [x, null]``
    is false for null and missing only)."""
    let = lookup.setdefault("let", {})
    tests = []
    for local, foreign in rest:
        name = f"key{len(let)}"
        let[name] = "$" + scope.path(parent_alias, local)
        tests.append({"$eq": ["$" + document_key(foreign), f"$${name}"]})
        tests.append({"$gt": [f"$${name}", None]})
    match = {"$match": {"$expr": {"$and": tests}}}
    lookup["pipeline"] = [match, *lookup.get("pipeline", [])]


def _join_condition(join, alias, scope, expression_compiler):
    """The ON clause beyond the key equality, as the $lookup's pipeline: the relation's own
    restriction (a GenericRelation's content type) and a FilteredRelation's condition.

    The joined collection's fields are local to the pipeline; columns of the query's other
    aliases come in through ``let``. Only TRUE joins, as in SQL (UNKNOWN does not).
    """
    conditions = []
    restriction = join.join_field.get_extra_restriction(alias, join.parent_alias)
    if restriction is not None:
        conditions.append(restriction)
    if join.filtered_relation is not None:
        conditions.append(join.filtered_relation.resolved_condition)
    if not conditions:
        return {}
    inner = Scope(alias, local_aliases={alias}, outer=scope)
    compiler = ExpressionCompiler(expression_compiler.query_compiler, inner)
    condition_compiler = compiler.conditions
    tests = [condition_compiler.expression(condition) for condition in conditions]
    if compiler.prelude:
        raise NotSupportedError(
            f"a join condition with a subquery ({join.table_name}) is not supported by the "
            "MongoDB backend yet"
        )
    condition = tests[0] if len(tests) == 1 else {"$and": tests}
    stages = {"pipeline": [{"$match": {"$expr": condition}}]}
    if inner.let:
        stages["let"] = dict(inner.let)
    return stages


SUBQUERY = object()


def aliases_used(node):
    """Every query alias a where-node or expression reads (subqueries excluded)."""
    found = set()
    stack = [node]
    while stack:
        item = stack.pop()
        if hasattr(item, "alias_map"):
            # A subquery may read outer columns of any alias: evaluate it after the joins.
            found.add(SUBQUERY)
            continue
        alias = getattr(item, "alias", None)
        if alias is not None and hasattr(item, "target"):
            found.add(alias)
        children = getattr(item, "children", None)
        if children is not None:
            stack.extend(children)
            continue
        for attribute in ("lhs", "rhs"):
            value = getattr(item, attribute, None)
            if value is not None and hasattr(value, "resolve_expression"):
                stack.append(value)
        if hasattr(item, "get_source_expressions"):
            stack.extend(expr for expr in item.get_source_expressions() if expr is not None)
    return found
