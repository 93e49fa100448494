"""Django's own test settings with ``default`` and ``other`` on this backend.

Everything but the databases comes from Django's ``tests/test_sqlite.py`` (SECRET_KEY, the MD5
password hasher, USE_TZ, and DEFAULT_AUTO_FIELD on 5.2), so both runs differ only in the
backend. ``runtests.py`` imports this with Django's ``tests/`` directory and this directory on
``sys.path``.

The server is the embedded one serving ``$DJANGO_SUITE_MONGO_DBPATH`` (``run.py`` makes one
directory per run and stops the server at the end), or the real MongoDB named by
``MONGODB_URI``. Without ``DJANGO_SUITE_MONGO_DBPATH`` (``runtests.py`` run by hand) a temporary
directory is used and its server is stopped when the process that created it exits.
"""

import atexit
import os
import shutil
import tempfile

import django
from test_sqlite import *  # noqa: F403 - Django's test settings, unchanged

MONGODB_URI = os.environ.get("MONGODB_URI")


def _embedded_dbpath():
    dbpath = os.environ.get("DJANGO_SUITE_MONGO_DBPATH")
    if dbpath:
        return dbpath
    dbpath = tempfile.mkdtemp(prefix="django-suite-mongo-")
    # Parallel workers (fork or spawn) inherit the variable and share the server.
    os.environ["DJANGO_SUITE_MONGO_DBPATH"] = dbpath
    owner = os.getpid()

    def stop():
        if os.getpid() == owner:
            from django_mongo_backend.embedded import launcher

            launcher.stop_server(dbpath)
            shutil.rmtree(dbpath, ignore_errors=True)

    atexit.register(stop)
    return dbpath


# Unlike the backend's own tests, Django's suite runs without the embedded server's shuffling
# (run.py --shuffle turns it on): Django's tests were written on SQL databases and some assert
# the insertion order of unsorted rows, which MongoDB's natural order on a small new collection
# also gives in practice, though it promises none.
HOST = MONGODB_URI or f"embedded://{_embedded_dbpath()}"

DATABASES = {
    "default": {
        "ENGINE": "django_mongo_backend",
        "NAME": "django_suite",
        "CLIENT": {"host": HOST},
    },
    "other": {
        "ENGINE": "django_mongo_backend",
        "NAME": "django_suite_other",
        "CLIENT": {"host": HOST},
    },
}

if django.VERSION < (6, 0):
    DEFAULT_AUTO_FIELD = "django.db.models.AutoField"

TEST_RUNNER = "suite_runner.RecordingRunner"
