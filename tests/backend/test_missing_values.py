"""Values a SQL database would read as NULL but MongoDB sees as *missing* (an outer join that
found nothing leaves no sub-document), and values whose text differs between MongoDB's
operators and SQL. Each test would fail on MongoDB 7.0 if the compiler relied on missing
behaving like null, or on ``$toString``'s formatting of doubles.
"""

from __future__ import annotations

import pytest
from django.db.models import Count

from tests.testapp.models import Author, Book

pytestmark = pytest.mark.django_db


@pytest.fixture
def orphans():
    """Books without an editor, and one edited book."""
    ann = Author.objects.create(name="Ann", age=30)
    bob = Author.objects.create(name="Bob", age=None)
    first = Book.objects.create(title="First", author=ann, pages=1)
    second = Book.objects.create(title="Second", author=ann, pages=2)
    edited = Book.objects.create(title="Edited", author=bob, editor=ann, pages=3)
    return {"ann": ann, "bob": bob, "first": first, "second": second, "edited": edited}


# -- joins never match a NULL key ----------------------------------------------------------


def test_reverse_join_after_an_empty_outer_join(orphans):
    """``book LEFT JOIN author AS editor LEFT JOIN book AS edited ON edited.editor_id =
    editor.id``: a book without an editor has no editor row, so nothing joins it. ``$lookup``
    would match the missing ``editor._id`` with every book whose ``editor_id`` is null (MongoDB
    manual, $lookup equality match: a missing localField is matched as null)."""
    rows = Book.objects.filter(editor__isnull=True).values_list("title", "editor__edited__title")
    assert sorted(rows) == [("First", None), ("Second", None)]


def test_reverse_join_through_a_null_foreign_key(orphans):
    """``author LEFT JOIN book AS edited ... LEFT JOIN author AS editor2 ...`` read from
    the other side: the edited books of each book's editor."""
    rows = Book.objects.values_list("title", "editor__edited__title").order_by("title")
    assert list(rows) == [("Edited", "Edited"), ("First", None), ("Second", None)]


def test_count_of_a_reverse_join_after_an_empty_outer_join(orphans):
    counts = Book.objects.values_list("title").annotate(n=Count("editor__edited"))
    assert sorted(counts) == [("Edited", 1), ("First", 0), ("Second", 0)]
