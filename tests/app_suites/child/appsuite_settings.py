"""A settings module put in front of an app's own, for apps whose runner takes
``DJANGO_SETTINGS_MODULE`` from the environment (django-filter's ``runtests.py``, which only
sets a default; pytest-django, where the variable outranks the ini file's setting).

Everything comes from the app's module (``$APP_SUITES_SETTINGS``, e.g. ``tests.settings``),
unchanged; on the MongoDB run only DATABASES is replaced, alias for alias. TEST_RUNNER records
each test's outcome for run.py and applies the harness's skip table (skips.py).
"""

import importlib
import os

import appsuite_databases

_app = importlib.import_module(os.environ["APP_SUITES_SETTINGS"])
globals().update({name: value for name, value in vars(_app).items() if name.isupper()})

if appsuite_databases.wanted():
    DATABASES = appsuite_databases.databases(list(_app.DATABASES), appsuite_databases.prefix())

TEST_RUNNER = "appsuite_runner.SkippingRecordingRunner"
