"""Where each query alias's columns are in the documents flowing through a pipeline.

A ``Scope`` turns a column (alias, field) into a path (``"name"``, ``"T3.name"``) or, inside a
subquery, into a ``$$variable`` of the ``$lookup`` running it. Its variants: ``FlatScope`` (a
subquery's flat output ``c0, c1...``), ``GroupedScope`` (the grouped columns after ``$group``).
"""

from __future__ import annotations

from typing import Any

from django.db import NotSupportedError
from django.db.models.expressions import Col
from django.db.models.sql.constants import LOUTER
from django.db.models.sql.datastructures import BaseTable

from ..operations import document_key


class Scope:
    """Where each query alias lives in the documents flowing through the pipeline.

    A subquery's scope has an ``outer`` scope: columns of the outer query are not in the
    subquery's documents, so they become ``$$variables`` of the ``$lookup`` that runs it
    (collected in ``let``).
    """

    def __init__(
        self,
        base_alias: str | None,
        prefixes: dict[str, str] | None = None,
        *,
        local_aliases: set[str] | None = None,
        outer: Scope | None = None,
    ) -> None:
        self.base_alias = base_alias
        self.prefixes: dict[str, str] = prefixes or {}
        self.local_aliases = local_aliases
        self.outer = outer
        #: ``$$variable`` name -> the outer query's expression it stands for.
        self.let: dict[str, Any] = {}
        # Aliases joined with LEFT OUTER JOIN: their columns can be missing.
        self.outer_joined: set[str] = set()

    def is_local(self, alias: str | None) -> bool:
        return (
            self.local_aliases is None
            or alias is None
            or alias == self.base_alias
            or alias in self.local_aliases
        )

    def path(self, alias: str | None, field: Any) -> str:
        key = document_key(field)
        if alias is None or alias == self.base_alias:
            return key
        prefix = self.prefixes.get(alias, alias)
        return f"{prefix}.{key}"

    def never_null(self, alias: str | None, field: Any) -> bool:
        """True when the column cannot be null or missing in this scope's documents."""
        if field.null:
            return False
        if self.is_local(alias):
            return alias not in self.outer_joined
        return self.outer is not None and self.outer.never_null(alias, field)

    def reference(self, alias: str | None, field: Any) -> str:
        """An aggregation expression for a column: ``$path``, or ``$$var`` if it is outer."""
        if self.is_local(alias):
            return "$" + self.path(alias, field)
        if self.outer is None:
            raise NotSupportedError(f"column {alias}.{field.column} is not in this query")
        value = self.outer.reference(alias, field)
        for name, existing in self.let.items():
            if existing == value:
                return f"$${name}"
        name = f"outer{len(self.let)}"
        self.let[name] = value
        return f"$${name}"


def base_alias_of(query: Any) -> str:
    """The alias the documents come from: the first table still in use.

    Usually the model's own table; a subquery Django built for exclude() across a
    multi-valued relation has its leading join trimmed and starts at the related table.
    """
    for alias, table in query.alias_map.items():
        if isinstance(table, BaseTable) and query.alias_refcount.get(alias):
            return alias
    return query.get_initial_alias()


def scope_for(query: Any, base_alias: str | None, outer: Scope | None = None) -> Scope:
    scope = Scope(base_alias, local_aliases=set(query.alias_map), outer=outer)
    scope.outer_joined = {
        alias
        for alias, join in query.alias_map.items()
        if getattr(join, "join_type", None) == LOUTER
    }
    return scope


class FlatScope(Scope):
    """Columns of a subquery's flat output (``c0``, ``c1``...), found by their field."""

    def __init__(self, keys_by_field: dict[Any, str]) -> None:
        super().__init__(base_alias=None)
        self.keys_by_field = keys_by_field

    def path(self, alias: str | None, field: Any) -> str:
        try:
            return self.keys_by_field[field]
        except KeyError:
            raise NotSupportedError(
                f"aggregate over {field} which the inner query does not select"
            ) from None


class GroupedScope(Scope):
    """The query's columns as a subquery after ``$group`` sees them (``OuterRef``): only the
    grouped ones exist, under ``_id.kN``."""

    def __init__(self, base: Scope, keys: dict[Any, str]) -> None:
        super().__init__(
            base.base_alias, base.prefixes, local_aliases=base.local_aliases, outer=base.outer
        )
        self.keys = keys

    def reference(self, alias: str | None, field: Any) -> str:
        for column, path in self.keys.items():
            if isinstance(column, Col) and column.alias == alias and column.target == field:
                return path
        raise NotSupportedError(
            f"a subquery after GROUP BY reads {alias}.{field.column}, which is not grouped"
        )

    def never_null(self, alias: str | None, field: Any) -> bool:
        return False
