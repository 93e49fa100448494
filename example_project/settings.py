"""Settings of the example site: a blog with its admin, stored in MongoDB.

The database is the embedded MongoDB server (``embedded://.mongo``: the data lives in
``example_project/.mongo/``, because a relative directory resolves against the directory of this
settings module), or the real MongoDB named by the ``MONGODB_URI`` environment variable.
``EXAMPLE_DB_NAME`` overrides the database name (default ``example``). Uploaded files are stored
in GridFS in the same database. With django-debug-toolbar installed (requirements.txt) the
toolbar shows on every page, with the backend's MongoDB panel in place of the SQL panel.

Development settings only: DEBUG is on and the secret key is public.
"""

from __future__ import annotations

import os
from importlib.util import find_spec
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "example-project-insecure-do-not-deploy")
DEBUG = True
ALLOWED_HOSTS = ["localhost", "127.0.0.1", "[::1]"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "reversion",  # django-reversion: the post admin keeps versions (it needs savepoints)
    "blog",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": {
        "ENGINE": "django_mongo_backend",
        "NAME": os.environ.get("EXAMPLE_DB_NAME", "example"),
        "CLIENT": {"host": os.environ.get("MONGODB_URI") or "embedded://.mongo"},
    },
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The cache is in MongoDB too, in the "django_cache" collection of the default database
# (docs/cache.rst): the front page's view counter (cache.incr) and the /stats/ page
# (cache_page) use it.
CACHES = {
    "default": {
        "BACKEND": "django_mongo_backend.cache.MongoDBCache",
        "LOCATION": "django_cache",
    },
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"

# Uploaded files (the post's attachment) go to GridFS, in the "fs" bucket of the default
# database; urls.py serves them under MEDIA_URL.
STORAGES = {
    "default": {"BACKEND": "django_mongo_backend.storage.GridFSStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
MEDIA_URL = "media/"

# django-debug-toolbar, when it is installed (requirements.txt) and DEBUG is on: the MongoDB
# panel (docs/debug-toolbar.rst) lists the commands of each request; Django's SQL panel is left
# out, since this backend runs no SQL. Without the package the site runs as it is.
DEBUG_TOOLBAR = DEBUG and find_spec("debug_toolbar") is not None
if DEBUG_TOOLBAR:
    INSTALLED_APPS.append("debug_toolbar")
    MIDDLEWARE.insert(0, "debug_toolbar.middleware.DebugToolbarMiddleware")
    INTERNAL_IPS = ["127.0.0.1", "::1"]
    # Folded to its handle until clicked, so it does not cover the admin's buttons.
    DEBUG_TOOLBAR_CONFIG = {"SHOW_COLLAPSED": True}
    DEBUG_TOOLBAR_PANELS = [
        "debug_toolbar.panels.history.HistoryPanel",
        "debug_toolbar.panels.versions.VersionsPanel",
        "debug_toolbar.panels.timer.TimerPanel",
        "debug_toolbar.panels.settings.SettingsPanel",
        "debug_toolbar.panels.headers.HeadersPanel",
        "debug_toolbar.panels.request.RequestPanel",
        "django_mongo_backend.toolbar.MongoDBPanel",
        "debug_toolbar.panels.staticfiles.StaticFilesPanel",
        "debug_toolbar.panels.templates.TemplatesPanel",
        "debug_toolbar.panels.alerts.AlertsPanel",
        "debug_toolbar.panels.cache.CachePanel",
        "debug_toolbar.panels.signals.SignalsPanel",
    ]
