from django.contrib import admin
from reversion.admin import VersionAdmin

from .models import Author, Comment, Post, Tag


class CommentInline(admin.TabularInline):
    model = Comment
    extra = 1
    fields = ["author_name", "body", "created_at"]


@admin.register(Post)
class PostAdmin(VersionAdmin):
    list_display = ["title", "author", "status", "published_at", "price"]
    list_filter = ["status", "author", "tags"]
    list_select_related = ["author"]
    search_fields = ["title", "body", "author__name", "venue__city"]
    date_hierarchy = "published_at"
    prepopulated_fields = {"slug": ["title"]}
    inlines = [CommentInline]
    fieldsets = [
        (None, {"fields": ["title", "slug", "author", "status", "published_at"]}),
        ("Content", {"fields": ["body", "tags", "attachment"]}),
        ("Extras", {"fields": ["price", "metadata"], "classes": ["collapse"]}),
        ("Venue and keywords", {"fields": ["venue", "keywords"]}),
    ]


@admin.register(Author)
class AuthorAdmin(admin.ModelAdmin):
    list_display = ["name", "email"]
    search_fields = ["name", "email"]


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ["name"]
    search_fields = ["name"]
