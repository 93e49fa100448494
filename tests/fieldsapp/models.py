"""Models for the MongoDB field tests (tests/backend/test_fields_*.py)."""

from __future__ import annotations

from bson import ObjectId
from django.core.validators import MinValueValidator
from django.db import models

from django_mongo_backend.fields import (
    ArrayField,
    EmbeddedModelArrayField,
    EmbeddedModelField,
    ObjectIdAutoField,
    ObjectIdField,
)


class Geo(models.Model):
    """Unmanaged: instances are made directly."""

    lat = models.FloatField()
    lng = models.FloatField()

    class Meta:
        managed = False


class Address(models.Model):
    street = models.CharField(max_length=100, blank=True, default="")
    city = models.CharField(max_length=50)
    zip_code = models.CharField(max_length=10, db_column="zip", blank=True, default="")
    since = models.DateField(null=True, blank=True)
    geo = EmbeddedModelField(Geo, null=True, blank=True)

    class Meta:
        managed = False

    def __str__(self):
        return f"{self.street}, {self.city}"


class Item(models.Model):
    """Abstract: the field makes a concrete stand-in (field.embedded_model)."""

    name = models.CharField(max_length=50)
    price = models.DecimalField(max_digits=8, decimal_places=2, validators=[MinValueValidator(0)])
    quantity = models.IntegerField(default=1)
    tags = ArrayField(models.CharField(max_length=20), default=list, blank=True)

    class Meta:
        abstract = True


class Person(models.Model):
    name = models.CharField(max_length=50)
    address = EmbeddedModelField(Address, null=True, blank=True)
    work = EmbeddedModelField(Address, null=True, blank=True)

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(models.F("address__city"), name="person_city_idx")]

    def __str__(self):
        return self.name


class Order(models.Model):
    number = models.IntegerField()
    items = EmbeddedModelArrayField(Item, null=True, blank=True)
    shipping = EmbeddedModelField(Address, null=True, blank=True)

    class Meta:
        ordering = ["number"]


class Tagged(models.Model):
    name = models.CharField(max_length=50)
    tags = ArrayField(models.CharField(max_length=20), null=True, blank=True)
    scores = ArrayField(models.IntegerField(null=True), size=4, null=True, blank=True)
    days = ArrayField(models.DateField(), default=list, blank=True)
    amounts = ArrayField(
        models.DecimalField(max_digits=6, decimal_places=2), default=list, blank=True
    )
    matrix = ArrayField(ArrayField(models.IntegerField()), null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Document(models.Model):
    name = models.CharField(max_length=50)
    data = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Note(models.Model):
    """An ObjectId primary key: no __schema__ sequence."""

    id = ObjectIdAutoField(primary_key=True)
    text = models.CharField(max_length=100)
    ref = ObjectIdField(null=True, blank=True)


class Reply(models.Model):
    id = ObjectIdField(primary_key=True, default=ObjectId)
    note = models.ForeignKey(Note, models.CASCADE, related_name="replies")
    text = models.CharField(max_length=100)


# -- fixtures (tests/backend/test_fixtures.py) ---------------------------------------------


class Event(models.Model):
    """Abstract embedded model with values JSON has no type for (datetime, Decimal, ObjectId)."""

    at = models.DateTimeField()
    amount = models.DecimalField(max_digits=8, decimal_places=2, null=True, blank=True)
    ref = ObjectIdField(null=True, blank=True)
    labels = ArrayField(models.CharField(max_length=20), default=list, blank=True)

    class Meta:
        abstract = True


class ShopManager(models.Manager):
    def get_by_natural_key(self, name):
        return self.get(name=name)


class Shop(models.Model):
    """Every MongoDB-native field at once, with an ObjectId primary key and a natural key."""

    id = ObjectIdAutoField(primary_key=True)
    name = models.CharField(max_length=50, unique=True)
    address = EmbeddedModelField(Address, null=True, blank=True)
    opened = EmbeddedModelField(Event, null=True, blank=True)
    history = EmbeddedModelArrayField(Event, default=list, blank=True)
    items = EmbeddedModelArrayField(Item, null=True, blank=True)
    partners = ArrayField(ObjectIdField(), default=list, blank=True)
    owner = ObjectIdField(null=True, blank=True)
    extra = models.JSONField(null=True, blank=True)

    objects = ShopManager()

    class Meta:
        ordering = ["name"]

    def natural_key(self):
        return (self.name,)

    def __str__(self):
        return self.name


class Stock(models.Model):
    """An integer primary key (a __schema__ sequence) and a foreign key to an ObjectId key."""

    shop = models.ForeignKey(Shop, models.CASCADE, related_name="stock")
    count = models.IntegerField()

    class Meta:
        ordering = ["id"]
