"""A Django database backend for MongoDB that compiles querysets straight to pipelines.

Nothing heavy is imported here: Django imports ``django_mongo_backend.base`` itself when a
``DATABASES`` entry names this package as its ``ENGINE``. ``MigrationError`` is importable from
the package (``from django_mongo_backend import MigrationError``) and loaded on first use.
"""

__version__ = "0.1.0"
__all__ = ["MigrationError", "__version__"]


def __getattr__(name):
    if name == "MigrationError":
        from .errors import MigrationError

        return MigrationError
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
