"""Settings for the backend's pytest suite: ``default`` and ``other`` on one MongoDB server.

The server is the embedded one (a data directory per test run, stopped when the run ends), or
the real MongoDB named by ``MONGODB_URI``.
"""

from __future__ import annotations

import os
import tempfile

MONGODB_URI = os.environ.get("MONGODB_URI")
EMBEDDED_DBPATH = os.environ.setdefault(
    "DJANGO_MONGO_TEST_DBPATH",
    os.path.join(tempfile.gettempdir(), f"django-mongo-tests-{os.getpid()}"),
)
HOST = MONGODB_URI or f"embedded://{EMBEDDED_DBPATH}"
# The embedded server shuffles unsorted results and sort ties, as MongoDB may order them
# (DJANGO_MONGO_EMBEDDED_SHUFFLE=0 keeps the engine's stable order, to debug).
os.environ.setdefault("DJANGO_MONGO_EMBEDDED_SHUFFLE", "1")

# The suite runs with validators on (the default); DJANGO_MONGO_ENFORCE_SCHEMA=0 runs it off.
ENFORCE_SCHEMA = os.environ.get("DJANGO_MONGO_ENFORCE_SCHEMA", "1") != "0"

DATABASES = {
    "default": {
        "ENGINE": "django_mongo_backend",
        "NAME": "django_mongo_tests",
        "CLIENT": {"host": HOST},
        "ENFORCE_SCHEMA": ENFORCE_SCHEMA,
    },
    "other": {
        "ENGINE": "django_mongo_backend",
        "NAME": "django_mongo_tests_other",
        "CLIENT": {"host": HOST},
        "ENFORCE_SCHEMA": ENFORCE_SCHEMA,
    },
    # The oracle of tests/differential (SQLite with PostgreSQL's string semantics); a router
    # keeps every other app off it.
    "sqlite": {"ENGINE": "tests.differential.sqlite_oracle", "NAME": ":memory:"},
}
DATABASE_ROUTERS = ["tests.differential.routers.DifferentialRouter"]

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.admin",
    "tests.testapp",
    "tests.differential",
    "tests.fieldsapp",
    "tests.jsonapp",
    "tests.storageapp",
    # django-debug-toolbar (tests/toolbar): its middleware is only added by those tests.
    "debug_toolbar",
]
# ... so its check that the middleware is in MIDDLEWARE is silenced (it would show in every
# ``manage.py check`` a test runs).
SILENCED_SYSTEM_CHECKS = ["debug_toolbar.W001"]
SECRET_KEY = "tests-only"
USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
ROOT_URLCONF = "tests.urls"
# GridFSStorage.url() prefixes names with MEDIA_URL unless given a base_url (tests/storage).
MEDIA_URL = "/media/"
# The debug toolbar's pages link its scripts and styles from here (tests/toolbar).
STATIC_URL = "/static/"
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
