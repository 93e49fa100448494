"""``include("django_mongo_backend.storage.urls")``: the files of ``STORAGES["default"]``.

Mount it at the storage's ``base_url`` (``MEDIA_URL`` unless the storage sets one)::

    urlpatterns = [..., path("media/", include("django_mongo_backend.storage.urls"))]

``reverse("gridfs-file", kwargs={"name": ...})`` names a file's URL. A storage other than the
default one gets a pattern of its own: ``path("<prefix>/<path:name>", serve, {"storage":
<alias or instance>})``.
"""

from __future__ import annotations

from django.urls import path

from .views import serve

urlpatterns = [path("<path:name>", serve, name="gridfs-file")]
