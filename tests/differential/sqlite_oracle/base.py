"""SQLite with PostgreSQL's string semantics: the oracle the MongoDB backend is compared with.

Stock SQLite differs from the other SQL backends in two documented ways that would make it a
wrong oracle for a case-sensitive store (Django's docs: "SQLite doesn't support case-sensitive
LIKE statements"):

* ``LIKE`` folds ASCII case, so ``contains``/``startswith``/``endswith`` ignore case.
  ``PRAGMA case_sensitive_like = ON`` makes them case-sensitive, as on PostgreSQL/MySQL-bin.
* ``UPPER``/``LOWER`` fold ASCII only. They are replaced by Python's Unicode-aware
  ``str.upper``/``str.lower`` (PostgreSQL with a UTF-8 database folds Unicode too).

With LIKE case-sensitive, the case-insensitive lookups are written as PostgreSQL writes them:
``UPPER(lhs) LIKE UPPER(rhs)``.
"""

from __future__ import annotations

from django.db.backends.sqlite3 import base, operations

CASE_INSENSITIVE = ("iexact", "icontains", "istartswith", "iendswith")


def _upper(value):
    return value.upper() if isinstance(value, str) else value


def _lower(value):
    return value.lower() if isinstance(value, str) else value


class DatabaseOperations(operations.DatabaseOperations):
    def lookup_cast(self, lookup_type, internal_type=None):
        if lookup_type in CASE_INSENSITIVE:
            return "UPPER(%s)"
        return super().lookup_cast(lookup_type, internal_type)


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations
    operators = {
        **base.DatabaseWrapper.operators,
        "iexact": "LIKE UPPER(%s) ESCAPE '\\'",
        "icontains": "LIKE UPPER(%s) ESCAPE '\\'",
        "istartswith": "LIKE UPPER(%s) ESCAPE '\\'",
        "iendswith": "LIKE UPPER(%s) ESCAPE '\\'",
    }

    def get_new_connection(self, conn_params):
        conn = super().get_new_connection(conn_params)
        conn.create_function("UPPER", 1, _upper, deterministic=True)
        conn.create_function("LOWER", 1, _lower, deterministic=True)
        conn.execute("PRAGMA case_sensitive_like = ON")
        return conn
