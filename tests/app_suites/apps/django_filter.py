"""django-filter: ``runtests.py``, which runs Django's ``test`` command with
``DJANGO_SETTINGS_MODULE`` defaulting to ``tests.settings`` (``os.environ.setdefault``). The
harness sets the variable to ``appsuite_settings``, which takes every setting from
``tests.settings`` and, on the MongoDB run, replaces DATABASES."""

from ..app import AppSuite

APP = AppSuite(
    name="django-filter",
    version="26.2",
    package="django_filters",
    command=("runtests.py", "--noinput", "-v", "2"),
    env={
        backend: {
            "DJANGO_SETTINGS_MODULE": "appsuite_settings",
            "APP_SUITES_SETTINGS": "tests.settings",
        }
        for backend in ("mongo", "sqlite")
    },
    # requirements/test-ci.txt (unittest-xml-reporting only writes reports; not needed).
    requirements=("djangorestframework", "markdown", "django-crispy-forms", "pytz"),
    how="tox.ini / Makefile: python runtests.py (requirements/test-ci.txt)",
)
