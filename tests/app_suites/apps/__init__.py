"""One module per reusable app: what to fetch from PyPI and how its own runner is started.

Each module defines ``APP``, an ``app.AppSuite``; ``APPS`` lists them in the order run.py
runs them by default (smallest first).
"""

from . import (
    django_allauth,
    django_filter,
    django_guardian,
    django_import_export,
    djangorestframework,
    model_utils,
)

APPS = {
    module.APP.name: module.APP
    for module in (
        model_utils,
        django_guardian,
        django_filter,
        django_import_export,
        djangorestframework,
        django_allauth,
    )
}
