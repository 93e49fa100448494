"""A django-debug-toolbar panel for this backend (docs/debug-toolbar.rst).

Add ``"django_mongo_backend.toolbar.MongoDBPanel"`` to ``DEBUG_TOOLBAR_PANELS``. Importing this
package needs django-debug-toolbar; the rest of the backend does not.
"""

from .panel import MongoDBPanel

__all__ = ["MongoDBPanel"]
