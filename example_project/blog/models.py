"""A small blog: authors write posts, posts carry tags and collect comments."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from django_mongo_backend.fields import ArrayField, EmbeddedModelField


class Author(models.Model):
    name = models.CharField(max_length=100)
    email = models.EmailField(blank=True)
    bio = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Tag(models.Model):
    name = models.CharField(max_length=50, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Venue(models.Model):
    """Where a post's event takes place. Abstract: it has no collection, it is stored inside
    the post's document (``{"venue": {"name": ..., "city": ..., "capacity": ...}}``)."""

    name = models.CharField(max_length=100)
    city = models.CharField(max_length=100)
    capacity = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        abstract = True

    def __str__(self):
        return f"{self.name} ({self.city})"


class Post(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"
        ARCHIVED = "archived", "Archived"

    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200, unique=True)
    author = models.ForeignKey(Author, on_delete=models.CASCADE, related_name="posts")
    tags = models.ManyToManyField(Tag, blank=True, related_name="posts")
    body = models.TextField(blank=True)
    published_at = models.DateTimeField(default=timezone.now, db_index=True)
    price = models.DecimalField(
        "reading fee", max_digits=8, decimal_places=2, default=0, help_text="In euros."
    )
    metadata = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    # MongoDB-native fields: a subdocument edited as a nested form, a list edited one item
    # per line. Queried in place: Post.objects.filter(venue__city="Paris"),
    # Post.objects.filter(keywords__contains=["django"]).
    venue = EmbeddedModelField(Venue, null=True, blank=True)
    keywords = ArrayField(
        models.CharField(max_length=30), default=list, blank=True, help_text="One per line."
    )
    # Stored in GridFS (settings.STORAGES["default"] is GridFSStorage), served under /media/.
    attachment = models.FileField(upload_to="attachments/", blank=True)

    class Meta:
        ordering = ["-published_at"]

    def __str__(self):
        return self.title


class Comment(models.Model):
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="comments")
    author_name = models.CharField(max_length=100)
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at"]

    def __str__(self):
        return f"{self.author_name} on {self.post}"
