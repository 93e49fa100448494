"""Keep the SQLite oracle alias to the apps compared with it (and those apps' tables to it)."""

from __future__ import annotations

ORACLE = "sqlite"
APP = "differential"
#: The apps created on the oracle too: the differential schema, and tests/jsonapp (JSON null
#: against SQL NULL, compared row for row in tests/compiler/test_json_null.py).
ORACLE_APPS = frozenset({APP, "jsonapp"})


class DifferentialRouter:
    def allow_migrate(self, db, app_label, model_name=None, **hints):
        if db == ORACLE:
            return app_label in ORACLE_APPS
        return None
