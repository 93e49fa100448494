"""django-guardian: pytest + pytest-django from the top of a checkout, ``DJANGO_SETTINGS_MODULE
= guardian.testapp.testsettings`` from ``pyproject.toml`` (the maintainers' CI runs ``py.test``
once per database, naming it in ``$DATABASE_URL``, which the settings read with
django-environ's ``env.db()``, SQLite by default). The tests live in the package
(``guardian/testapp/tests``), so the package stays in the unpacked sdist. The SQLite run sets
nothing; the MongoDB run sets ``DJANGO_SETTINGS_MODULE=appsuite_settings`` (the variable
outranks the ini file), which wraps the app's settings and replaces DATABASES."""

from ..app import AppSuite

APP = AppSuite(
    name="django-guardian",
    version="3.5.2",
    package="guardian",
    command=("-m", "pytest", "-p", "appsuite_pytest", "--continue-on-collection-errors"),
    env={
        "mongo": {
            "DJANGO_SETTINGS_MODULE": "appsuite_settings",
            "APP_SUITES_SETTINGS": "guardian.testapp.testsettings",
        },
    },
    # pyproject.toml's "dev" dependency group, less coverage, docs and linters: the settings
    # import django-environ.
    requirements=("django-environ",),
    how="pyproject.toml + .github/workflows: py.test (DATABASE_URL per database)",
    tests_in_package=True,
)
