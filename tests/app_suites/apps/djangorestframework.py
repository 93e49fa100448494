"""Django REST framework: pytest + pytest-django; ``tests/conftest.py`` calls
``settings.configure()`` in its ``pytest_configure`` (SQLite in memory for ``default`` and
``secondary`` unless ``$DATABASE_URL`` names a database, as DRF's CI does for PostgreSQL; both
aliases then share that database). The MongoDB run sets ``DATABASE_URL`` to a scheme the
harness's pytest plugin registers with dj-database-url for this backend."""

from ..app import AppSuite

APP = AppSuite(
    name="djangorestframework",
    version="3.18.3",
    package="rest_framework",
    command=("-m", "pytest", "-p", "appsuite_pytest", "--continue-on-collection-errors"),
    env={"mongo": {"DATABASE_URL": "appsuite-mongo:///rest_framework"}},
    # pyproject.toml's "test" and "optional" dependency groups, less PostgreSQL's driver.
    # django-guardian is among them: its conftest adds guardian's app and backend when it is
    # importable, and the object-permission filter's tests then run.
    requirements=(
        "dj-database-url>=3.1.0",
        "django-filter",
        "django-guardian>=2.4.0,<3.6",
        "inflection==0.5.1",
        "legacy-cgi",
        "markdown>=3.3.7",
        "pygments",
        "pyyaml>=5.3.1,<6.1",
        "requests",
        "uritemplate",
    ),
    how="pyproject.toml: pytest (tests/conftest.py configures settings)",
)
