"""The benchmark's models: plain Django models, the same on every backend."""

from django.db import models


class Item(models.Model):
    """Scenarios 1, 2 and 6: a flat row."""

    name = models.CharField(max_length=50)
    number = models.IntegerField()
    ratio = models.FloatField()


class BulkItem(models.Model):
    """Scenario 3: bulk_create writes here, so the read scenarios' rows stay as they are."""

    name = models.CharField(max_length=50)
    number = models.IntegerField()
    ratio = models.FloatField()


class PageItem(models.Model):
    """Scenario 4: 100,000 rows paged through a (category, score) index."""

    category = models.IntegerField()
    score = models.IntegerField()
    title = models.CharField(max_length=50)

    class Meta:
        indexes = [models.Index(fields=["category", "score"], name="bench_page_cat_score")]


class Author(models.Model):
    """Scenario 5: the joined side."""

    name = models.CharField(max_length=50)


class Book(models.Model):
    """Scenario 5: the side that holds the foreign key."""

    title = models.CharField(max_length=50)
    pages = models.IntegerField()
    author = models.ForeignKey(Author, models.CASCADE)
