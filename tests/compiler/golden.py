"""What the compiler tests compare: the compiled command and the rows it returns."""

from __future__ import annotations


def mql(queryset):
    """The command the queryset compiles to (``{"pipeline": [...], ...}``)."""
    return queryset.query.get_compiler(using=queryset.db).mql()


def pipeline(queryset):
    """The aggregation pipeline the queryset compiles to."""
    return mql(queryset)["pipeline"]


def titles(queryset):
    return sorted(queryset.values_list("title", flat=True))


def depth(value):
    """BSON nesting levels of a command part (a document or an array is one level)."""
    if isinstance(value, dict):
        return 1 + max((depth(item) for item in value.values()), default=0)
    if isinstance(value, list | tuple):
        return 1 + max((depth(item) for item in value), default=0)
    return 0
