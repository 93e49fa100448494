"""Management commands of the MongoDB backend (add ``django_mongo_backend`` to INSTALLED_APPS)."""
