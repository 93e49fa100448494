"""A row with nullable JSON columns, created on MongoDB and on the SQLite oracle alike."""

from __future__ import annotations

from django.db import models


class Row(models.Model):
    name = models.CharField(max_length=20)
    data = models.JSONField(null=True)
    other = models.JSONField(null=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name
