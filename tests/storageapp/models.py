"""Models whose files live in GridFS: a ``FileField`` and an ``ImageField`` on one bucket."""

from __future__ import annotations

from django.db import models

from django_mongo_backend.storage import GridFSStorage

#: The bucket of these models' files; tests/urls.py serves it under /attachments/.
attachments = GridFSStorage(bucket_name="test_attachments", base_url="/attachments/")


class Document(models.Model):
    title = models.CharField(max_length=100, blank=True)
    file = models.FileField(storage=attachments, upload_to="docs", blank=True)
    limited = models.FileField(storage=attachments, upload_to="docs", max_length=20, blank=True)


class Photo(models.Model):
    image = models.ImageField(
        storage=attachments, upload_to="photos", width_field="width", height_field="height"
    )
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
