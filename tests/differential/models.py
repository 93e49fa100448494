"""The differential schema: loaded identically into SQLite (the oracle) and into MongoDB.

Every common field type appears nullable, relations cover a non-null FK, nullable FKs (one of
them to self, so one model is reached through two paths), a reverse FK and an M2M.
"""

from __future__ import annotations

from django.db import models


class Publisher(models.Model):
    name = models.CharField(max_length=50)
    country = models.CharField(max_length=20, null=True)
    founded = models.DateField(null=True)


class Author(models.Model):
    name = models.CharField(max_length=50)
    nickname = models.CharField(max_length=50, null=True)
    age = models.IntegerField(null=True)
    rating = models.FloatField(null=True)
    active = models.BooleanField(null=True)
    born = models.DateField(null=True)
    uid = models.UUIDField(null=True)
    mentor = models.ForeignKey("self", models.SET_NULL, null=True, related_name="mentees")


class Book(models.Model):
    title = models.CharField(max_length=100)
    blurb = models.TextField(null=True)
    pages = models.IntegerField(null=True)
    sales = models.BigIntegerField(null=True)
    price = models.DecimalField(max_digits=8, decimal_places=2, null=True)
    score = models.FloatField(null=True)
    in_print = models.BooleanField(default=True)
    published = models.DateField(null=True)
    updated = models.DateTimeField(null=True)
    code = models.UUIDField(null=True)
    publisher = models.ForeignKey(Publisher, models.CASCADE, related_name="books")
    editor = models.ForeignKey(Author, models.SET_NULL, null=True, related_name="edited")
    authors = models.ManyToManyField(Author, related_name="books")
