"""Models the backend's tests run against: every common field type, FK, M2M, nullables."""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models.functions import Lower


class Author(models.Model):
    name = models.CharField(max_length=100)
    email = models.EmailField(blank=True, default="")
    age = models.IntegerField(null=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Tag(models.Model):
    name = models.CharField(max_length=50, unique=True)

    def __str__(self):
        return self.name


class Book(models.Model):
    title = models.CharField(max_length=200)
    author = models.ForeignKey(Author, models.CASCADE, related_name="books")
    editor = models.ForeignKey(
        Author, models.SET_NULL, null=True, blank=True, related_name="edited"
    )
    pages = models.IntegerField(default=0)
    price = models.DecimalField(max_digits=8, decimal_places=2, null=True)
    published = models.DateField(null=True)
    tags = models.ManyToManyField(Tag, blank=True, related_name="books")

    def __str__(self):
        return self.title


class Chapter(models.Model):
    book = models.ForeignKey(Book, models.CASCADE, related_name="chapters")
    number = models.PositiveIntegerField()
    title = models.CharField(max_length=100)

    class Meta:
        unique_together = [("book", "number")]


class AllTypes(models.Model):
    """One field of each common type, all nullable, for value round trips."""

    big = models.BigIntegerField(null=True)
    small = models.SmallIntegerField(null=True)
    flag = models.BooleanField(null=True)
    text = models.TextField(null=True)
    char = models.CharField(max_length=50, null=True)
    decimal = models.DecimalField(max_digits=20, decimal_places=6, null=True)
    floating = models.FloatField(null=True)
    day = models.DateField(null=True)
    moment = models.DateTimeField(null=True)
    clock = models.TimeField(null=True)
    duration = models.DurationField(null=True)
    uid = models.UUIDField(null=True)
    data = models.JSONField(null=True)
    blob = models.BinaryField(null=True)
    ip = models.GenericIPAddressField(null=True)
    slug = models.SlugField(null=True)


class UUIDKeyed(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    name = models.CharField(max_length=20)


class Natural(models.Model):
    code = models.CharField(max_length=10, primary_key=True)
    label = models.CharField(max_length=50)


class Indexed(models.Model):
    name = models.CharField(max_length=50, db_index=True)
    slug = models.SlugField(unique=True)
    group = models.IntegerField()
    rank = models.IntegerField(null=True)

    class Meta:
        indexes = [models.Index(fields=["group", "-rank"], name="group_rank_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["group", "rank"],
                condition=models.Q(rank__isnull=False),
                name="unique_rank_in_group",
            )
        ]


class Line(models.Model):
    """An order line whose total and label the server stores (GeneratedField, stored) and
    whose doubled quantity it computes on every read (virtual)."""

    product = models.CharField(max_length=50)
    price = models.DecimalField(max_digits=8, decimal_places=2)
    quantity = models.IntegerField(null=True)
    total = models.GeneratedField(
        expression=models.F("price") * models.F("quantity"),
        output_field=models.DecimalField(max_digits=12, decimal_places=2),
        db_persist=True,
        null=True,
    )
    label = models.GeneratedField(
        expression=Lower("product"),
        output_field=models.CharField(max_length=50),
        db_persist=True,
    )
    doubled = models.GeneratedField(
        expression=models.F("quantity") * 2,
        output_field=models.IntegerField(),
        db_persist=False,
        null=True,
    )


class Shipment(models.Model):
    """Joins to Line: its virtual field is computed in the join too."""

    line = models.ForeignKey(Line, models.CASCADE, related_name="shipments")
    boxes = models.IntegerField()


class Tenant(models.Model):
    name = models.CharField(max_length=20)


class Member(models.Model):
    """A composite primary key (Django 5.2): stored as the document ``_id``
    ``{"tenant_id": ..., "number": ...}``."""

    pk = models.CompositePrimaryKey("tenant_id", "number")
    tenant = models.ForeignKey(Tenant, models.CASCADE, related_name="members")
    number = models.IntegerField()
    name = models.CharField(max_length=20, default="")
    rank = models.IntegerField(null=True)


class Visit(models.Model):
    """A multi-column relation to a composite primary key (Django's ``ForeignObject``)."""

    tenant_ref = models.IntegerField()
    member_number = models.IntegerField(null=True)
    member = models.ForeignObject(
        Member,
        models.CASCADE,
        from_fields=("tenant_ref", "member_number"),
        to_fields=("tenant_id", "number"),
        related_name="visits",
        null=True,
    )
    note = models.CharField(max_length=20, default="")
