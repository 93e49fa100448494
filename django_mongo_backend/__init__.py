"""A Django database backend for MongoDB that compiles querysets straight to pipelines.

Nothing heavy is imported here: Django imports ``django_mongo_backend.base`` itself when a
``DATABASES`` entry names this package as its ``ENGINE``.
"""

__version__ = "0.1.0"
