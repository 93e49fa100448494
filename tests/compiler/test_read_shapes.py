"""Plain reads compiled once per shape (compiler/read_shapes.py).

A read of a cached shape must send exactly the command a full compile of it sends, and read
the same rows; what is not a plain shape must take the full compile every time.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Count, Exists, F, OuterRef, Q, Subquery
from django.db.models.functions import Lower
from django.test.utils import CaptureQueriesContext, override_settings

from django_mongo_backend.compiler import pipeline as pipeline_module
from tests.testapp.models import Author, Book

pytestmark = pytest.mark.django_db


@pytest.fixture
def builds(monkeypatch):
    """How many full compiles (SelectBuilder.build) ran; no shape cached before the test."""
    connection.read_shapes.clear()
    counter = {"n": 0}
    build = pipeline_module.SelectBuilder.build

    def counting(self):
        counter["n"] += 1
        return build(self)

    monkeypatch.setattr(pipeline_module.SelectBuilder, "build", counting)
    return counter


def sent_and_compiled(make_queryset):
    """(the command list(qs) sent, the command a full compile of an equal queryset gives,
    the rows read)."""
    with CaptureQueriesContext(connection) as captured:
        rows = list(make_queryset())
    assert len(captured) == 1
    return captured[0]["sql"], str(make_queryset().query), rows


#: Plain shapes, each with two sets of values: (name, make queryset from values, values...).
PLAIN = [
    ("pk", lambda v: Book.objects.filter(pk=v), "ann_book", "cy_book"),
    ("fk", lambda v: Book.objects.filter(author=v), "ann", "cy"),
    (
        "two fields",
        lambda v: Author.objects.filter(name=v[0], age__gte=v[1]),
        ("Ann", 1),
        ("Cy", 40),
    ),
    ("or, not", lambda v: Author.objects.filter(Q(name=v) | ~Q(age=30)), "Ann", "Bob"),
    ("isnull", lambda v: Author.objects.filter(age__isnull=v), True, False),
    ("in", lambda v: Book.objects.filter(pages__in=v), [10, 50], [100, 300, 7]),
    ("range", lambda v: Book.objects.filter(pages__range=v), (10, 60), (90, 400)),
    ("contains", lambda v: Author.objects.filter(name__icontains=v), "a", "Y"),
    ("exclude", lambda v: Book.objects.exclude(title=v), "Alpha", "Delta"),
    ("page", lambda v: Book.objects.order_by("-pages", "title")[v[0] : v[1]], (0, 2), (1, 3)),
    ("meta ordering", lambda v: Author.objects.filter(age__lt=v), 40, 50),
    ("only", lambda v: Book.objects.only("title").filter(pages__gt=v), 20, 60),
    ("defer", lambda v: Book.objects.defer("price").filter(price__gte=v), Decimal(5), 15),
    (
        "date",
        lambda v: Book.objects.filter(published__gte=v),
        datetime.date(2000, 1, 1),
        datetime.date(2020, 5, 1),
    ),
    ("reverse", lambda v: Author.objects.filter(age__gte=v).reverse(), 0, 31),
    ("none value", lambda v: Author.objects.filter(age=v), None, 30),
]


def resolve(value, library):
    if value == "ann_book":
        return library["books"][0].pk
    if value == "cy_book":
        return library["books"][3].pk
    if value in ("ann", "cy"):
        return library[value]
    return value


@pytest.mark.parametrize(("name", "make", "first", "second"), PLAIN, ids=[p[0] for p in PLAIN])
def test_a_cached_shape_sends_what_a_full_compile_sends(library, builds, name, make, first, second):
    first, second = resolve(first, library), resolve(second, library)
    sent, compiled, rows = sent_and_compiled(lambda: make(first))
    assert sent == compiled
    full_compiles = builds["n"]
    sent, compiled, rows = sent_and_compiled(lambda: make(second))
    assert sent == compiled
    # The second read compiled only its WHERE and slice; str(query) compiled in full.
    assert builds["n"] == full_compiles + 1
    connection.read_shapes.clear()
    with CaptureQueriesContext(connection) as captured:
        fresh = list(make(second))
    assert captured[0]["sql"] == sent
    assert fields_of(rows) == fields_of(fresh)
    assert rows  # every shape above matches something with its second values


def fields_of(instances):
    """The instances' field values, by primary key (the server may return an unordered read
    in any order)."""
    return sorted(
        (tuple((key, value) for key, value in vars(row).items() if key != "_state"))
        for row in instances
    )


def test_get_reads_the_row_of_its_own_value(library, builds):
    ann, bob, cy = library["ann"], library["bob"], library["cy"]
    assert Author.objects.get(pk=ann.pk).name == "Ann"
    full_compiles = builds["n"]
    for author in (bob, cy, ann):
        got = Author.objects.get(pk=author.pk)
        assert (got.pk, got.name, got.age) == (author.pk, author.name, author.age)
    assert builds["n"] == full_compiles
    book = Book.objects.get(title="Alpha")
    assert book.price == Decimal("9.99")  # the converter of the cached shape ran
    assert Book.objects.get(title="Gamma").published == datetime.date(2020, 5, 1)
    assert Book.objects.get(title="Delta").price == Decimal("20.00")


def test_the_related_object_of_a_foreign_key_is_a_cached_shape(library, builds):
    books = list(Book.objects.order_by("title"))
    authors = [book.author.name for book in books]
    assert authors == ["Ann", "Cy", "Bob", "Ann"]
    # One full compile for the books, one for the first author; the others bind values.
    assert builds["n"] == 2


def test_a_value_matching_nothing_sends_nothing(library):
    assert list(Book.objects.filter(pk__in=[library["books"][0].pk]))
    with CaptureQueriesContext(connection) as captured:
        assert list(Book.objects.filter(pk__in=[])) == []
    assert len(captured) == 0


@pytest.mark.parametrize(
    "make",
    [
        lambda: Book.objects.filter(pages__gt=F("price")),
        lambda: Book.objects.filter(author__name="Ann"),
        lambda: Book.objects.order_by("author__name"),
        lambda: Book.objects.select_related("author"),
        lambda: Book.objects.annotate(n=Count("tags")),
        lambda: Book.objects.values("title"),
        lambda: Book.objects.filter(published__year=2020),
        lambda: Book.objects.order_by(Lower("title")),
        lambda: Book.objects.distinct(),
        lambda: Book.objects.filter(author__in=Author.objects.filter(age__gte=40)),
        lambda: Book.objects.filter(Exists(Author.objects.filter(pk=OuterRef("editor")))),
        lambda: Book.objects.filter(
            author__in=Subquery(Author.objects.filter(pk=OuterRef("editor")).values("pk"))
        ),
    ],
    ids=[
        "F",
        "join in where",
        "related ordering",
        "select_related",
        "annotate",
        "values",
        "transform",
        "expression ordering",
        "distinct",
        "subquery",
        "exists",
        "correlated in",
    ],
)
def test_other_reads_are_compiled_in_full_every_time(library, builds, make):
    list(make())
    once = builds["n"]
    list(make())
    assert builds["n"] == 2 * once
    assert not connection.read_shapes


def test_a_shape_is_per_enforce_schema(library, monkeypatch):
    list(Author.objects.filter(name="Ann"))
    monkeypatch.setitem(connection.settings_dict, "ENFORCE_SCHEMA", not connection.enforce_schema)
    list(Author.objects.filter(name="Bob"))
    assert {key[-1] for key in connection.read_shapes} == {True, False}


def test_a_changed_setting_forgets_the_shapes(library):
    list(Author.objects.filter(name="Ann"))
    assert connection.read_shapes
    with override_settings(USE_TZ=not connection.settings_dict.get("USE_TZ", True)):
        assert not connection.read_shapes


def test_a_changed_meta_ordering_is_another_shape(library, monkeypatch):
    """Django's queries app sets ``Tag._meta.ordering = None`` for one test
    (test_ticket17429); the reads after it must sort by the ordering restored, not reuse the
    unsorted shape compiled meanwhile."""
    names = lambda: [author.name for author in Author.objects.filter(age__isnull=False)]  # noqa: E731
    monkeypatch.setattr(Author._meta, "ordering", ["-name"])
    assert names() == ["Cy", "Ann"]
    monkeypatch.setattr(Author._meta, "ordering", ["name"])
    assert names() == ["Ann", "Cy"]
