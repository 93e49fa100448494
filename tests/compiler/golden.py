"""What the compiler tests compare: the compiled command and the rows it returns."""

from __future__ import annotations

import re

#: A subquery's ``$lookup`` result is stored under a name made unique with the id() of its
#: query (``__sq140303487842128_0``); goldens name them by order of appearance instead.
SUBQUERY_NAME = re.compile(r"__sq(\d+)_")


def mql(queryset):
    """The command the queryset compiles to (``{"pipeline": [...], ...}``)."""
    return queryset.query.get_compiler(using=queryset.db).mql()


def pipeline(queryset):
    """The aggregation pipeline the queryset compiles to, subquery names numbered from 1."""
    numbers = {}

    def rename(match):
        return f"__sq{numbers.setdefault(match.group(1), len(numbers) + 1)}_"

    def walk(value):
        if isinstance(value, str):
            return SUBQUERY_NAME.sub(rename, value)
        if isinstance(value, dict):
            return {walk(key): walk(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [walk(item) for item in value]
        return value

    return walk(mql(queryset)["pipeline"])


def joined(collection, local_field, *, foreign="_id", into=None, outer=False):
    """The two stages a join compiles to (compiler/joins.py): ``$lookup`` of the documents of
    ``collection`` whose ``foreign`` equals the row's ``local_field``, stored under ``into``
    (the collection's name unless the alias differs), then ``$unwind``, which keeps a row that
    matched none for a LEFT OUTER join (``outer``) and drops it for an INNER one."""
    into = into or collection
    return [
        {
            "$lookup": {
                "from": collection,
                "localField": local_field,
                "foreignField": foreign,
                "as": into,
            }
        },
        {"$unwind": {"path": f"${into}", "preserveNullAndEmptyArrays": outer}},
    ]


def titles(queryset):
    return sorted(queryset.values_list("title", flat=True))


def depth(value):
    """BSON nesting levels of a command part (a document or an array is one level)."""
    if isinstance(value, dict):
        return 1 + max((depth(item) for item in value.values()), default=0)
    if isinstance(value, list | tuple):
        return 1 + max((depth(item) for item in value), default=0)
    return 0
