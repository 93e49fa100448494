"""Joins (compiler/joins.py): ``$lookup`` + ``$unwind`` per joined alias, INNER and LEFT
OUTER, never matching a NULL key (a missing sub-document after an outer join is NULL too).
"""

from __future__ import annotations

import pytest
from django.db.models import Count, F, Q

from tests.compiler.golden import joined, pipeline, titles
from tests.testapp.models import Author, Book, Chapter, Tag

pytestmark = pytest.mark.django_db


def test_join_filter_runs_base_conditions_before_lookup(library):
    assert titles(Book.objects.filter(pages=50, author__name="Ann")) == ["beta"]
    assert not Book.objects.filter(pages=10, author__name="Ann").exists()
    stages = pipeline(Book.objects.filter(pages=1, author__name="Ann").order_by())
    assert stages[0] == {"$match": {"pages": {"$eq": 1}}}
    assert stages[1]["$lookup"] == {
        "from": "testapp_author",
        "localField": "author_id",
        "foreignField": "_id",
        "as": "testapp_author",
    }
    assert stages[2] == {
        "$unwind": {"path": "$testapp_author", "preserveNullAndEmptyArrays": False}
    }
    assert stages[3] == {"$match": {"testapp_author.name": {"$eq": "Ann"}}}


def test_filters_across_relations(library):
    assert titles(Book.objects.filter(editor__name="Cy")) == ["Gamma"]
    assert sorted(Author.objects.filter(books__pages__gt=90).values_list("name", flat=True)) == [
        "Ann",
        "Cy",
    ]
    # A reverse relation without a match: a LEFT OUTER join keeps the author.
    assert Author.objects.filter(edited__isnull=True).count() == 1
    assert pipeline(Book.objects.filter(editor__name="Cy").values_list("title", flat=True)) == [
        *joined("testapp_author", "editor_id"),
        {"$match": {"testapp_author.name": {"$eq": "Cy"}}},
        {"$project": {"title": 1}},
    ]


def test_select_related_forward_and_nullable(library):
    books = {b.title: b for b in Book.objects.select_related("author", "editor")}
    assert books["beta"].author.name == "Ann"
    assert books["beta"].editor.name == "Bob"
    assert books["Alpha"].editor is None
    chapter = Chapter.objects.create(book=library["books"][0], number=1, title="One")
    fetched = Chapter.objects.select_related("book__author").get(pk=chapter.pk)
    assert fetched.book.author.name == "Ann"
    assert pipeline(Book.objects.select_related("author", "editor")) == [
        *joined("testapp_author", "author_id"),
        *joined("testapp_author", "editor_id", into="T3", outer=True),
        {
            "$project": {
                "T3": 1,
                "_id": 1,
                "author_id": 1,
                "editor_id": 1,
                "pages": 1,
                "price": 1,
                "published": 1,
                "testapp_author": 1,
                "title": 1,
            }
        },
    ]


def test_many_to_many(library):
    python, django = Tag.objects.create(name="python"), Tag.objects.create(name="django")
    alpha = library["books"][0]
    alpha.tags.add(python, django)
    assert sorted(alpha.tags.values_list("name", flat=True)) == ["django", "python"]
    assert titles(Book.objects.filter(tags__name="python")) == ["Alpha"]
    alpha.tags.remove(python)
    assert list(alpha.tags.values_list("name", flat=True)) == ["django"]
    assert pipeline(Book.objects.filter(tags__name="python").values_list("title", flat=True)) == [
        *joined("testapp_book_tags", "_id", foreign="book_id"),
        *joined("testapp_tag", "testapp_book_tags.tag_id"),
        {"$match": {"testapp_tag.name": {"$eq": "python"}}},
        {"$project": {"title": 1}},
    ]


def test_prefetch_related_many_to_many_and_reverse_foreign_key(library):
    python, django = Tag.objects.create(name="python"), Tag.objects.create(name="django")
    library["books"][0].tags.add(python, django)
    library["books"][1].tags.add(django)
    books = {
        book.title: sorted(tag.name for tag in book.tags.all())
        for book in Book.objects.prefetch_related("tags")
    }
    assert books == {
        "Alpha": ["django", "python"],
        "beta": ["django"],
        "Gamma": [],
        "Delta": [],
    }
    counts = {a.name: len(a.books.all()) for a in Author.objects.prefetch_related("books")}
    assert counts == {"Ann": 2, "Bob": 1, "Cy": 1}


def test_filtered_relation_joins_only_matching_rows(library):
    from django.db.models import FilteredRelation

    long_books = Author.objects.annotate(
        long=FilteredRelation("books", condition=Q(books__pages__gte=100))
    )
    rows = long_books.values_list("name", "long__title").order_by("name", "long__title")
    # LEFT OUTER: Bob has no long book and still appears, with NULL.
    assert list(rows) == [("Ann", "Alpha"), ("Bob", None), ("Cy", "Delta")]
    assert list(long_books.filter(long__isnull=False).values_list("name", flat=True)) == [
        "Ann",
        "Cy",
    ]
    # A condition on a NULL column is UNKNOWN, which does not join (beta and Gamma: no price).
    priced = Author.objects.annotate(
        priced=FilteredRelation("books", condition=Q(books__price__gt=5))
    ).filter(priced__isnull=False)
    assert sorted(priced.values_list("name", "priced__title")) == [
        ("Ann", "Alpha"),
        ("Cy", "Delta"),
    ]
    # The condition may compare with the outer row (F of the author); Bob's NULL age joins none.
    longer = Author.objects.annotate(
        longer=FilteredRelation("books", condition=Q(books__pages__gt=F("age")))
    ).filter(longer__isnull=False)
    assert sorted(longer.values_list("name", "longer__title")) == [
        ("Ann", "Alpha"),
        ("Ann", "beta"),
        ("Cy", "Delta"),
    ]


def test_reverse_join_after_an_empty_outer_join(orphans):
    """``book LEFT JOIN author AS editor LEFT JOIN book AS edited ON edited.editor_id =
    editor.id``: a book without an editor has no editor row, so nothing joins it. ``$lookup``
    would match the missing ``editor._id`` with every book whose ``editor_id`` is null (MongoDB
    manual, $lookup equality match: a missing localField is matched as null)."""
    rows = Book.objects.filter(editor__isnull=True).values_list("title", "editor__edited__title")
    assert sorted(rows) == [("First", None), ("Second", None)]
    assert pipeline(
        Book.objects.filter(editor__isnull=True).values_list("title", "editor__edited__title")
    ) == [
        {"$match": {"editor_id": None}},
        *joined("testapp_author", "editor_id", outer=True),
        {
            "$lookup": {
                "from": "testapp_book",
                "localField": "testapp_author._id",
                "foreignField": "editor_id",
                "as": "T3",
                "pipeline": [{"$match": {"editor_id": {"$ne": None}}}],
            }
        },
        {"$unwind": {"path": "$T3", "preserveNullAndEmptyArrays": True}},
        {"$project": {"T3": 1, "title": 1}},
    ]


def test_reverse_join_through_a_null_foreign_key(orphans):
    """``author LEFT JOIN book AS edited ... LEFT JOIN author AS editor2 ...`` read from
    the other side: the edited books of each book's editor."""
    rows = Book.objects.values_list("title", "editor__edited__title").order_by("title")
    assert list(rows) == [
        ("By Bob", "By Bob"),
        ("Edited", "Edited"),
        ("First", None),
        ("Second", None),
    ]
    assert pipeline(Author.objects.filter(name="Bob").values_list("name", "edited__title")) == [
        {"$match": {"name": {"$eq": "Bob"}}},
        *joined("testapp_book", "_id", foreign="editor_id", outer=True),
        {"$addFields": {"__c0": "$name"}},
        {"$sort": {"__c0": 1}},
        {"$project": {"name": 1, "testapp_book": 1}},
    ]


def test_count_of_a_reverse_join_after_an_empty_outer_join(orphans):
    counts = Book.objects.values_list("title").annotate(n=Count("editor__edited"))
    assert sorted(counts) == [("By Bob", 1), ("Edited", 1), ("First", 0), ("Second", 0)]


def lookups(queryset):
    """The ``$lookup`` stages of the queryset's pipeline (one per SQL JOIN)."""
    return [stage for stage in pipeline(queryset) if "$lookup" in stage]


def test_a_filter_and_an_f_through_one_multi_valued_relation_share_one_join():
    """Django's expressions app counts the JOINs of these querysets in the SQL text
    (test_ticket_18375_*, skipped here with that reason): within one filter() call the lookup
    and the F() reuse one join, whichever comes first; a second filter() call on a multi-valued
    relation joins again. The same decisions, counted on the pipeline."""
    one_call = Author.objects.filter(books__pages=F("books__price"))
    assert len(lookups(one_call)) == 1
    both_orders = Author.objects.filter(books__pages=F("books__price"), books__pages__gte=1)
    assert len(lookups(both_orders)) == 1
    f_on_either_side = Author.objects.filter(books__pages=F("pk"), pk=F("books__pages"))
    assert len(lookups(f_on_either_side)) == 1
    chained = Author.objects.filter(books__pages=F("pk")).filter(books__pages=F("books__pages"))
    assert len(lookups(chained)) == 2


def test_compiling_leaves_no_join_referenced_in_the_query(library):
    """Django's SQLCompiler.as_sql unreferences the joins compiling added (reset_refcounts):
    an evaluated queryset combined later (q1 & q2) must not carry its ordering's join as a
    used one (Django's queries app, test_order_by_tables)."""
    ordered = Book.objects.order_by("author__name")
    list(ordered)
    assert ordered.query.alias_refcount["testapp_author"] == 0
    q2 = Book.objects.filter(pk=library["books"][0].pk)
    list(q2)
    combined = (Book.objects.order_by("title") & q2).order_by("title").query
    assert len([t for t in combined.alias_map if combined.alias_refcount[t]]) == 1


def _unwinds(queryset):
    """{alias: whether its $unwind keeps rows that joined nothing} for each join the pipeline
    runs, and Django's join types for the same aliases (LEFT OUTER or INNER)."""
    from django.db.models.sql.constants import LOUTER

    compiler = queryset.query.get_compiler(using=queryset.db)
    stages = compiler.build_select().pipeline
    kept = {}
    for index, stage in enumerate(stages):
        if "$lookup" in stage:
            unwind = stages[index + 1]["$unwind"]
            kept[stage["$lookup"]["as"]] = unwind["preserveNullAndEmptyArrays"]
    alias_map = queryset.query.alias_map
    django = {alias: alias_map[alias].join_type == LOUTER for alias in kept}
    return kept, django


@pytest.mark.parametrize(
    "make",
    [
        lambda: Book.objects.filter(editor__name="Bob"),
        lambda: Book.objects.filter(Q(editor__name="Bob") | Q(author__name="Ann")),
        lambda: Book.objects.filter(Q(editor__name="Bob") | Q(editor__name="Cy")),
        lambda: Book.objects.filter(Q(editor__name="Bob") | Q(pages__gt=60)),
        lambda: Book.objects.filter(editor__name__isnull=True),
        lambda: Book.objects.exclude(editor__name="Bob").filter(author__name="Ann"),
        lambda: Book.objects.filter(~Q(~Q(editor__name="Bob") | ~Q(author__name="Cy"))),
        lambda: Book.objects.values("editor__name", "author__name"),
        lambda: Book.objects.select_related("editor", "author"),
        lambda: Book.objects.order_by("editor__name"),
        lambda: Author.objects.filter(Q(books__title="Alpha") | Q(edited__title="beta")),
    ],
    ids=[
        "filter on a nullable fk",
        "disjunction of two relations",
        "disjunction of one relation",
        "disjunction with a local column",
        "isnull through a relation",
        "exclude then filter",
        "double negation",
        "values of two fks",
        "select_related",
        "ordering by a nullable fk",
        "disjunction of reverse relations",
    ],
)
def test_each_join_keeps_unmatched_rows_exactly_when_django_promotes_it(library, make):
    """Django's queries app checks its join promotion by counting "INNER JOIN" and "LEFT
    OUTER JOIN" in the SQL text (DisjunctionPromotionTests, NullJoinPromotionOrTest,
    JoinReuseTest, ValuesJoinPromotionTests..., skipped here with that reason). The same
    decision on the pipeline: every join's $unwind keeps a row that matched nothing exactly
    when Django made the join LEFT OUTER (and the queryset runs)."""
    queryset = make()
    kept, django = _unwinds(queryset)
    assert kept and kept == django
    list(queryset)  # and it runs
