"""django-import-export: Django's ``test`` command through ``tests/manage.py`` (tox.ini:
``python -W error::DeprecationWarning -W error::PendingDeprecationWarning -m coverage run
./tests/manage.py test core``, coverage left out), ``DJANGO_SETTINGS_MODULE`` defaulting to
``settings`` (``tests/settings.py``, found next to the script, as tox's ``PYTHONPATH`` also
puts it). Its settings pick MySQL or PostgreSQL from ``$IMPORT_EXPORT_TEST_TYPE``, SQLite
otherwise. Both runs set the variable to ``appsuite_settings``, which wraps ``settings``
(its ``TEST_RUNNER`` records the outcomes) and, on the MongoDB run, replaces DATABASES."""

from ..app import AppSuite

APP = AppSuite(
    name="django-import-export",
    version="4.4.6",
    package="import_export",
    command=(
        "-W",
        "error::DeprecationWarning",
        "-W",
        "error::PendingDeprecationWarning",
        "tests/manage.py",
        "test",
        "core",
        "--noinput",
        "-v",
        "2",
    ),
    env={
        backend: {"DJANGO_SETTINGS_MODULE": "appsuite_settings", "APP_SUITES_SETTINGS": "settings"}
        for backend in ("mongo", "sqlite")
    },
    # pyproject.toml's "tests" extra, less the MySQL and coverage tools (psycopg stays:
    # django.contrib.postgres is in INSTALLED_APPS and imports it).
    requirements=(
        "psycopg[binary]>=3.2.9",
        "chardet==5.2.0",
        "pytz==2024.2",
        "memory-profiler==0.61.0",
        "django-extensions==3.2.3",
        "tablib[all]>=3.7.0",
    ),
    how="tox.ini: python -W error::DeprecationWarning ... ./tests/manage.py test core",
)
