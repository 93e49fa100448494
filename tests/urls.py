from django.contrib import admin
from django.urls import include, path

from django_mongo_backend.storage.views import serve
from tests.storageapp.models import attachments

urlpatterns = [
    path("admin/", admin.site.urls),
    # GridFS files (tests/storage): STORAGES["default"] under MEDIA_URL, and the bucket of
    # tests.storageapp's file fields under their storage's base_url.
    path("media/", include("django_mongo_backend.storage.urls")),
    path("attachments/<path:name>", serve, {"storage": attachments}, name="attachment"),
]
