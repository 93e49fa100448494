"""DATABASES for an app's suite on this backend: one MongoDB database per alias the app uses.

The aliases are the app's own (DRF's tests use ``default`` and ``secondary``), so its
multi-database tests see the same names; each gets its own database on one server: the
embedded one serving ``$APP_SUITES_MONGO_DBPATH`` (run.py makes one directory per run and
stops the server at the end) or the real MongoDB named by ``MONGODB_URI``.
"""

import os

DBPATH_ENV = "APP_SUITES_MONGO_DBPATH"
#: dj-database-url scheme for this backend (registered by appsuite_pytest).
URL_SCHEME = "appsuite-mongo"


def host():
    uri = os.environ.get("MONGODB_URI")
    if uri:
        return uri
    dbpath = os.environ.get(DBPATH_ENV)
    if not dbpath:
        raise RuntimeError(f"${DBPATH_ENV} names no directory: run tests/app_suites/run.py")
    return f"embedded://{dbpath}"


def databases(aliases, prefix):
    """``{alias: this backend's settings}`` for each of the app's aliases (database
    ``PREFIX_ALIAS``, or ``PREFIX`` alone for ``default``)."""
    return {
        alias: {
            "ENGINE": "django_mongo_backend",
            "NAME": prefix if alias == "default" else f"{prefix}_{alias}",
            "CLIENT": {"host": host()},
        }
        for alias in aliases
    }


def wanted():
    """True when this run is the MongoDB one (the SQLite run keeps the app's DATABASES)."""
    return os.environ.get("APP_SUITES_BACKEND") == "mongo"


def prefix():
    return os.environ.get("APP_SUITES_DB_PREFIX", "app_suite")
