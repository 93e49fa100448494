"""Strings holding NUL characters compare whole, as MongoDB compares strings.

A BSON string is length-prefixed and may hold NUL (``"a\\x00b"``); MongoDB's query equality
and sort compare the whole value, byte by byte (``ComparisonMatchExpressionBase::compare`` in
the server's ``matcher/expression_leaf.cpp`` compares ``valuesize()`` first for string
equality; manual, "Comparison/Sort Order": strings use the simple binary comparison).

mongoeco 4.11 stores a document as JSON text, where NUL is the escape ``\\u0000``, and its SQL
reads fields with SQLite's ``json_extract``, which (SQLite 3.40) cuts the decoded text at the
first NUL: ``"a\\x00b"`` reads as ``"a"``. So ``{s: "a\\x00b"}`` matched nothing, ``{s: "a"}``
matched ``"a\\x00b"`` too, and sorts mixed them (the ``$expr`` form, evaluated in Python, was
right). What we change: a filter with a string operand holding NUL, or on a field that holds
such a string in the collection, and a sort on such a field, run on mongoeco's Python path
(the planner's ``_plan_requires_python_for_bytes`` and ``_sort_requires_python``), which
compares Python strings whole. Whether a field holds one is read from the JSON text, where the
escape is intact (``document -> path``), and cached with mongoeco's other per-collection
features (reset by every write to the collection).
"""

from __future__ import annotations

from mongoeco.engines.sqlite import SQLiteEngine
from mongoeco.engines.sqlite_query import json_path_for_field

from .. import registry
from .query_operands import plan_operands

_TESTS = "tests/embedded/test_nul_strings.py"
#: How JSON (and so the stored document) spells a NUL character.
NUL_ESCAPE = "\\u0000"


def _has_nul_operand(plan):
    """Whether a query plan compares with a string holding NUL (at any depth)."""
    return any(
        isinstance(value, str) and "\x00" in value for value in plan_operands(plan, keys=True)
    )


def field_holds_nul_string(engine, db_name, coll_name, field):
    """Whether a stored document of the collection has a NUL inside ``field``'s value."""
    feature_key = (db_name, coll_name, f"nul_string:{field}")
    cache = engine._collection_features_cache
    if feature_key in cache:
        return cache[feature_key]
    try:
        conn = engine._require_connection()
    except RuntimeError:  # an engine with no connection: nothing stored to check
        return False
    # instr over the raw text first: the JSON path is read only in documents holding a NUL.
    row = conn.execute(
        "SELECT 1 FROM documents WHERE db_name = ? AND coll_name = ? "
        "AND instr(document, ?) > 0 AND instr(document -> ?, ?) > 0 LIMIT 1",
        (db_name, coll_name, NUL_ESCAPE, json_path_for_field(field), NUL_ESCAPE),
    ).fetchone()
    cache[feature_key] = row is not None
    return cache[feature_key]


def _filtering(original):
    def _plan_requires_python_for_bytes(self, db_name, coll_name, plan):
        return (
            original(self, db_name, coll_name, plan)
            or _has_nul_operand(plan)
            or any(
                field_holds_nul_string(self, db_name, coll_name, field)
                for field in self._plan_fields(plan)
            )
        )

    return _plan_requires_python_for_bytes


def _sorting(original):
    def _sort_requires_python(self, db_name, coll_name, plan, sort):
        if original(self, db_name, coll_name, plan, sort):
            return True
        return any(
            field_holds_nul_string(self, db_name, coll_name, field) for field, _ in sort or ()
        )

    return _sort_requires_python


def install():
    """Apply the patches (idempotent)."""
    registry.replace(
        SQLiteEngine,
        "_plan_requires_python_for_bytes",
        wrap=_filtering,
        rule="a string holding NUL compares whole (expression_leaf.cpp): filters on it run on "
        "the Python path, SQLite's json_extract cuts it at the NUL",
        test=f"{_TESTS}::test_strings_holding_nul_match_whole",
    )
    registry.replace(
        SQLiteEngine,
        "_sort_requires_python",
        wrap=_sorting,
        rule="strings sort by binary comparison, NUL included (Comparison/Sort Order)",
        test=f"{_TESTS}::test_strings_holding_nul_sort_by_binary_comparison",
    )
