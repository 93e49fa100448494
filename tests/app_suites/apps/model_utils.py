"""django-model-utils: pytest + pytest-django, ``DJANGO_SETTINGS_MODULE = tests.settings``
from its ``setup.cfg``. Its settings use PostgreSQL unless ``$SQLITE`` is set: the SQLite run
sets it. The MongoDB run sets ``DJANGO_SETTINGS_MODULE=appsuite_settings`` (the variable
outranks the ini file for pytest-django), which wraps ``tests.settings`` and replaces
DATABASES."""

from ..app import AppSuite

APP = AppSuite(
    name="django-model-utils",
    version="5.0.0",
    package="model_utils",
    command=("-m", "pytest", "-p", "appsuite_pytest", "--continue-on-collection-errors"),
    env={
        "sqlite": {"SQLITE": "1"},
        "mongo": {
            "DJANGO_SETTINGS_MODULE": "appsuite_settings",
            "APP_SUITES_SETTINGS": "tests.settings",
        },
    },
    requirements=("time-machine",),
    how="tox.ini: python -m pytest (settings from setup.cfg's [tool:pytest])",
)
