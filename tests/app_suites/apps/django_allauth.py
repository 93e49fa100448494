"""django-allauth: pytest + pytest-django; its noxfile runs ``pytest
--ds=tests.projects.<project>.settings tests/`` once per test project. The ``regular`` project
runs here, the one ``pytest.ini`` names (``DJANGO_SETTINGS_MODULE =
tests.projects.regular.settings``), so ``--ds`` is left out: pytest-django's ``--ds`` would
outrank the environment, while the environment outranks the ini file. The SQLite run sets
nothing; the MongoDB run sets ``DJANGO_SETTINGS_MODULE=appsuite_settings``, which wraps the
project's settings and replaces DATABASES."""

from ..app import AppSuite

APP = AppSuite(
    name="django-allauth",
    version="65.22.1",
    package="allauth",
    command=(
        "-m",
        "pytest",
        "-p",
        "appsuite_pytest",
        "--continue-on-collection-errors",
        "tests/",
    ),
    env={
        "mongo": {
            "DJANGO_SETTINGS_MODULE": "appsuite_settings",
            "APP_SUITES_SETTINGS": "tests.projects.regular.settings",
        },
    },
    # noxfile.py's test session: the extras it installs, pytest-asyncio and the optional
    # packages the tests import (SAML stays out, as in its CI; PostgreSQL's driver too).
    requirements=(
        "django-allauth[mfa,openid,socialaccount,steam]==65.22.1",
        "pytest-asyncio==1.3.0",
        "Pillow>=9.0",
        "pyyaml>=6.0.2,<7",
        "djangorestframework>=3.15.2,<4",
        "django-ninja>=1.3.0,<2",
    ),
    how="noxfile.py: pytest --ds=tests.projects.regular.settings tests/",
)
