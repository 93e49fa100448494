"""Keep the SQLite oracle alias to the differential app (and that app's tables to it)."""

from __future__ import annotations

ORACLE = "sqlite"
APP = "differential"


class DifferentialRouter:
    def allow_migrate(self, db, app_label, model_name=None, **hints):
        if db == ORACLE:
            return app_label == APP
        return None
