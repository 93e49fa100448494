"""Querysets users write every day, run against MongoDB and checked row for row."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.db import DatabaseError, IntegrityError, NotSupportedError
from django.db.models import Avg, Count, F, Max, Min, OuterRef, Q, Subquery, Sum

from tests.testapp.models import Author, Book, Chapter, Tag

pytestmark = pytest.mark.django_db


@pytest.fixture
def library():
    ann = Author.objects.create(name="Ann", age=30)
    bob = Author.objects.create(name="Bob", age=None)
    cy = Author.objects.create(name="Cy", age=45)
    books = [
        Book.objects.create(title="Alpha", author=ann, pages=100, price=Decimal("9.99")),
        Book.objects.create(title="beta", author=ann, editor=bob, pages=50),
        Book.objects.create(
            title="Gamma", author=bob, editor=cy, pages=10, published=datetime.date(2020, 5, 1)
        ),
        Book.objects.create(title="Delta", author=cy, pages=300, price=Decimal("20.00")),
    ]
    return {"ann": ann, "bob": bob, "cy": cy, "books": books}


def titles(queryset):
    return sorted(queryset.values_list("title", flat=True))


def test_filter_exclude_and_q_objects(library):
    assert titles(Book.objects.filter(pages__gte=50)) == ["Alpha", "Delta", "beta"]
    assert titles(Book.objects.filter(Q(pages__lt=20) | Q(title="Alpha"))) == ["Alpha", "Gamma"]
    assert titles(Book.objects.filter(~Q(title="Alpha"), pages__gt=20)) == ["Delta", "beta"]
    assert titles(Book.objects.exclude(pages__in=[10, 50])) == ["Alpha", "Delta"]


def test_null_semantics_match_sql(library):
    # Django's exclude() adds "age IS NOT NULL" inside the negation, so SQL returns NULL ages.
    assert sorted(Author.objects.exclude(age=30).values_list("name", flat=True)) == ["Bob", "Cy"]
    # A comparison with NULL is never true, whichever way it goes.
    assert sorted(Author.objects.filter(age__lt=40).values_list("name", flat=True)) == ["Ann"]
    assert not Author.objects.filter(age__lt=F("age") + 1, name="Bob").exists()
    assert sorted(Author.objects.filter(age__isnull=True).values_list("name", flat=True)) == ["Bob"]


@pytest.mark.parametrize(
    ("lookup", "value", "expected"),
    [
        ("exact", "beta", ["beta"]),
        ("iexact", "BETA", ["beta"]),
        ("contains", "amm", ["Gamma"]),
        ("icontains", "A", ["Alpha", "Delta", "Gamma", "beta"]),
        ("startswith", "Al", ["Alpha"]),
        ("istartswith", "al", ["Alpha"]),
        ("endswith", "ta", ["Delta", "beta"]),
        ("iendswith", "TA", ["Delta", "beta"]),
        ("regex", r"^[AB]", ["Alpha"]),
        ("iregex", r"^[ab]", ["Alpha", "beta"]),
        ("in", ["Alpha", "Zeta"], ["Alpha"]),
        ("gt", "Delta", ["Gamma", "beta"]),
        ("lte", "Delta", ["Alpha", "Delta"]),
        ("range", ("B", "E"), ["Delta"]),
    ],
)
def test_string_lookups(library, lookup, value, expected):
    assert titles(Book.objects.filter(**{f"title__{lookup}": value})) == expected


def test_pattern_lookups_escape_regex_metacharacters(library):
    Book.objects.create(title="a.c (x)*", author=library["ann"])
    assert titles(Book.objects.filter(title__contains=".c (x)*")) == ["a.c (x)*"]
    assert not Book.objects.filter(title__contains="a.c (x)+").exists()
    assert not Book.objects.filter(title__startswith=".").exists()


def test_operator_lookalike_values_are_matched_literally(library):
    Author.objects.create(name="$gt")
    Author.objects.create(name="{'$ne': 1}")
    assert list(Author.objects.filter(name="$gt").values_list("name", flat=True)) == ["$gt"]
    assert not Author.objects.filter(name="$ne").exists()
    assert Author.objects.filter(name__in=["$gt"]).count() == 1
    assert Author.objects.filter(name="{'$ne': 1}").count() == 1


def test_order_by_slicing_first_last(library):
    ordered = list(Book.objects.order_by("-pages").values_list("title", flat=True))
    assert ordered == ["Delta", "Alpha", "beta", "Gamma"]
    assert list(Book.objects.order_by("pages")[1:3].values_list("pages", flat=True)) == [50, 100]
    assert Book.objects.order_by("pages").first().title == "Gamma"
    assert Book.objects.order_by("pages").last().title == "Delta"
    assert Author.objects.first().name == "Ann"  # Meta.ordering


def test_nulls_sort_first_ascending_and_can_be_moved(library):
    names = list(Author.objects.order_by("age").values_list("name", flat=True))
    assert names == ["Bob", "Ann", "Cy"]
    names = list(
        Author.objects.order_by(F("age").asc(nulls_last=True)).values_list("name", flat=True)
    )
    assert names == ["Ann", "Cy", "Bob"]
    names = list(
        Author.objects.order_by(F("age").desc(nulls_first=True)).values_list("name", flat=True)
    )
    assert names == ["Bob", "Cy", "Ann"]


def test_values_only_defer(library):
    row = Book.objects.filter(title="Alpha").values("title", "author__name").get()
    assert row == {"title": "Alpha", "author__name": "Ann"}
    book = Book.objects.only("title").get(title="Alpha")
    assert book.get_deferred_fields() >= {"pages", "price"}
    assert book.pages == 100  # loaded on access
    book = Book.objects.defer("title").get(pages=100)
    assert "title" in book.get_deferred_fields()


def test_count_exists_get(library):
    assert Book.objects.count() == 4
    assert Book.objects.filter(author__name="Ann").count() == 2
    assert Book.objects.filter(title="Alpha").exists()
    assert not Book.objects.filter(title="Nope").exists()
    assert Book.objects.get(title="Gamma").pages == 10
    with pytest.raises(Book.DoesNotExist):
        Book.objects.get(title="Nope")
    with pytest.raises(Book.MultipleObjectsReturned):
        Book.objects.get(author__name="Ann")
    assert Book.objects.none().count() == 0
    assert list(Book.objects.filter(pk__in=[])) == []


def test_distinct(library):
    authors = Book.objects.values_list("author__name", flat=True).distinct()
    assert sorted(authors) == ["Ann", "Bob", "Cy"]
    assert Book.objects.values("author").distinct().count() == 3


def test_select_related_forward_and_nullable(library):
    books = {b.title: b for b in Book.objects.select_related("author", "editor")}
    assert books["beta"].author.name == "Ann"
    assert books["beta"].editor.name == "Bob"
    assert books["Alpha"].editor is None
    chapter = Chapter.objects.create(book=library["books"][0], number=1, title="One")
    fetched = Chapter.objects.select_related("book__author").get(pk=chapter.pk)
    assert fetched.book.author.name == "Ann"


def test_filters_across_relations(library):
    assert titles(Book.objects.filter(editor__name="Cy")) == ["Gamma"]
    assert sorted(Author.objects.filter(books__pages__gt=90).values_list("name", flat=True)) == [
        "Ann",
        "Cy",
    ]
    # A reverse relation without a match: a LEFT OUTER join keeps the author.
    assert Author.objects.filter(edited__isnull=True).count() == 1


def test_aggregate_and_annotate(library):
    result = Book.objects.aggregate(
        total=Sum("pages"), top=Max("price"), low=Min("pages"), mean=Avg("pages")
    )
    assert result == {"total": 460, "top": Decimal("20.00"), "low": 10, "mean": 115.0}
    empty = Book.objects.filter(pages__gt=1000).aggregate(total=Sum("pages"), n=Count("id"))
    assert empty == {"total": None, "n": 0}
    counts = dict(Author.objects.annotate(n=Count("books")).values_list("name", "n"))
    assert counts == {"Ann": 2, "Bob": 1, "Cy": 1}
    having = Author.objects.annotate(n=Count("books")).filter(n__gt=1)
    assert list(having.values_list("name", flat=True)) == ["Ann"]


def test_update_with_constants_and_f_expressions(library):
    assert Book.objects.filter(author__name="Ann").update(pages=F("pages") * 2) == 2
    assert sorted(Book.objects.values_list("pages", flat=True)) == [10, 100, 200, 300]
    assert Book.objects.filter(title="Gamma").update(title="Gamma 2", pages=11) == 1
    assert Book.objects.get(pages=11).title == "Gamma 2"


def test_delete_cascades(library):
    Chapter.objects.create(book=library["books"][0], number=1, title="One")
    _deleted, per_model = library["ann"].delete()
    assert per_model == {"testapp.Chapter": 1, "testapp.Book": 2, "testapp.Author": 1}
    assert Book.objects.count() == 2
    # SET_NULL: Bob edits "beta" (deleted with Ann); Cy edits Gamma and stays.
    library["cy"].delete()
    assert Book.objects.get(title="Gamma").editor is None


def test_bulk_create_bulk_update_get_or_create_update_or_create(library):
    tags = Tag.objects.bulk_create([Tag(name=f"tag{i}") for i in range(5)])
    assert all(tag.pk for tag in tags)
    assert len({tag.pk for tag in tags}) == 5
    for tag in tags:
        tag.name = tag.name.upper()
    Tag.objects.bulk_update(tags, ["name"])
    assert sorted(Tag.objects.values_list("name", flat=True)) == [f"TAG{i}" for i in range(5)]
    tag, created = Tag.objects.get_or_create(name="TAG1")
    assert not created and tag.pk == tags[1].pk
    tag, created = Tag.objects.get_or_create(name="new")
    assert created
    _author, created = Author.objects.update_or_create(name="Ann", defaults={"age": 31})
    assert not created and Author.objects.get(name="Ann").age == 31


def test_many_to_many(library):
    python, django = Tag.objects.create(name="python"), Tag.objects.create(name="django")
    alpha = library["books"][0]
    alpha.tags.add(python, django)
    assert sorted(alpha.tags.values_list("name", flat=True)) == ["django", "python"]
    assert titles(Book.objects.filter(tags__name="python")) == ["Alpha"]
    alpha.tags.remove(python)
    assert list(alpha.tags.values_list("name", flat=True)) == ["django"]


def test_unique_violation_is_integrity_error(library):
    Tag.objects.create(name="once")
    with pytest.raises(IntegrityError):
        Tag.objects.create(name="once")


def test_unsupported_constructs_raise_not_supported(library):
    with pytest.raises(NotSupportedError, match="extra"):
        list(Book.objects.extra(select={"x": "1"}))
    with pytest.raises(NotSupportedError, match="extra"):
        list(Book.objects.extra(where=["1 = 1"]))
    with pytest.raises(NotSupportedError, match=r"(?i)distinct"):
        list(Book.objects.distinct("title"))


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


def test_in_bulk_and_chunked_iterator(library):
    first, second = library["books"][:2]
    assert Book.objects.in_bulk([first.pk, second.pk]) == {first.pk: first, second.pk: second}
    assert sorted(b.title for b in Book.objects.iterator(chunk_size=2)) == [
        "Alpha",
        "Delta",
        "Gamma",
        "beta",
    ]


def test_dates_extract_and_trunc(library):
    Book.objects.filter(title="Alpha").update(published=datetime.date(2020, 1, 31))
    assert list(Book.objects.dates("published", "month")) == [
        datetime.date(2020, 1, 1),
        datetime.date(2020, 5, 1),
    ]
    assert titles(Book.objects.filter(published__month=5)) == ["Gamma"]
    assert titles(Book.objects.filter(published__year=2020)) == ["Alpha", "Gamma"]
    assert Book.objects.aggregate(first=Min("published"))["first"] == datetime.date(2020, 1, 31)


def test_text_functions(library):
    from django.db.models import CharField, Value
    from django.db.models.functions import Concat, Length, Lower, Upper

    row = (
        Author.objects.filter(name="Ann")
        .annotate(
            low=Lower("name"),
            up=Upper("name"),
            size=Length("name"),
            label=Concat("name", Value(" <"), "email", Value(">"), output_field=CharField()),
        )
        .values("low", "up", "size", "label")
        .get()
    )
    assert row == {"low": "ann", "up": "ANN", "size": 3, "label": "Ann <>"}


def test_exists_subquery_and_outer_ref(library):
    from django.db.models import Exists, Subquery

    books = Book.objects.filter(author=OuterRef("pk"))
    with_books = Author.objects.filter(Exists(books.filter(pages__gt=60)))
    assert sorted(with_books.values_list("name", flat=True)) == ["Ann", "Cy"]
    without = Author.objects.filter(~Exists(books.filter(pages__gt=60)))
    assert list(without.values_list("name", flat=True)) == ["Bob"]
    longest = Author.objects.annotate(
        longest=Subquery(books.order_by("-pages").values("title")[:1])
    ).values_list("name", "longest")
    assert sorted(longest) == [("Ann", "Alpha"), ("Bob", "Gamma"), ("Cy", "Delta")]
    flagged = dict(
        Author.objects.annotate(big=Exists(books.filter(pages__gte=300))).values_list("name", "big")
    )
    assert flagged == {"Ann": False, "Bob": False, "Cy": True}


def test_admin_style_duplicate_free_search_across_many_to_many(library):
    from django.db.models import Exists

    tag = Tag.objects.create(name="sci-fi")
    library["books"][0].tags.add(tag)
    library["books"][3].tags.add(tag)
    matches = Book.objects.filter(tags__name__icontains="sci")
    deduped = Book.objects.filter(Exists(matches.filter(pk=OuterRef("pk"))))
    assert titles(deduped) == ["Alpha", "Delta"]


def test_inserted_values_may_be_constant_expressions():
    from django.db.models import Value
    from django.db.models.functions import Now

    from tests.testapp.models import AllTypes

    tag = Tag.objects.create(name=Value("from a Value"))
    assert Tag.objects.get(pk=tag.pk).name == "from a Value"
    before = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    row = AllTypes.objects.create(moment=Now())
    assert AllTypes.objects.get(pk=row.pk).moment >= before


def test_computed_update_is_stored_as_the_fields_type(library):
    from tests.testapp.models import AllTypes

    row = AllTypes.objects.create(small=3)
    AllTypes.objects.filter(pk=row.pk).update(floating=F("small"), decimal=F("small") * 2)
    document = AllTypes.objects.values("floating", "decimal").get(pk=row.pk)
    assert document == {"floating": 3.0, "decimal": Decimal("6")}
    assert isinstance(document["floating"], float)
    # Into an integer column: an integer division truncates, other numbers are rounded, and
    # the validator (int/long only) accepts what is stored.
    AllTypes.objects.filter(pk=row.pk).update(small=F("small") / 2, big=F("floating") * 1.5)
    assert AllTypes.objects.values_list("small", "big").get(pk=row.pk) == (1, 4)
    AllTypes.objects.filter(pk=row.pk).update(small=(F("small") - 8) / 2)
    assert AllTypes.objects.values_list("small", flat=True).get(pk=row.pk) == -3  # -7/2


def test_prefetch_related_of_a_forward_foreign_key(library):
    # Django 6 fetches the related objects with a tuple lookup on the key columns.
    books = {b.title: b.author.name for b in Book.objects.prefetch_related("author")}
    assert books == {"Alpha": "Ann", "beta": "Ann", "Gamma": "Bob", "Delta": "Cy"}
    editors = {b.title: b.editor and b.editor.name for b in Book.objects.prefetch_related("editor")}
    assert editors == {"Alpha": None, "beta": "Bob", "Gamma": "Cy", "Delta": None}


def test_json_field_lookups_match_json_semantics():
    from tests.testapp.models import AllTypes

    AllTypes.objects.create(data={"b": [1, {"y": 2, "x": 1}], "a": 1})
    # contains and has_key compile through compiler/json_fields.py (see test_fields_json.py).
    assert AllTypes.objects.filter(data__contains={"a": 1}).count() == 1
    assert AllTypes.objects.filter(data__contains={"b": [{"x": 1}]}).count() == 1
    assert AllTypes.objects.filter(data__contains={"a": 2}).count() == 0
    assert AllTypes.objects.filter(data__has_key="a").count() == 1
    assert AllTypes.objects.filter(data__has_key="z").count() == 0
    # Equality of JSON objects does not depend on key order.
    assert AllTypes.objects.filter(data={"a": 1, "b": [1, {"x": 1, "y": 2}]}).count() == 1


def test_subquery_that_can_match_nothing_is_a_value_not_an_empty_result(library):
    from django.db.models import Exists, Subquery

    authors = Author.objects.annotate(
        has=Exists(Book.objects.none()),
        title=Subquery(Book.objects.filter(pk__in=[], author=OuterRef("pk")).values("title")),
    )
    assert sorted(authors.values_list("name", "has", "title")) == [
        ("Ann", False, None),
        ("Bob", False, None),
        ("Cy", False, None),
    ]
    assert Author.objects.filter(~Exists(Book.objects.none())).count() == 3


def test_range_and_in_with_expressions(library):
    in_range = Book.objects.filter(pages__range=(F("author__age") - 25, F("author__age") + 60))
    assert titles(in_range) == ["beta"]
    assert titles(Book.objects.filter(pages__in=[F("author__age") + 70, 10])) == ["Alpha", "Gamma"]


def test_conditions_as_values_are_null_when_unknown(library):
    """SQL selects ``age > 35`` as NULL for a NULL age; so do Q(...) annotations here."""
    from django.db.models import BooleanField, ExpressionWrapper
    from django.db.models.functions import Coalesce

    def flags(expression):
        rows = Author.objects.annotate(flag=expression).order_by("name")
        return list(rows.values_list("name", "flag"))

    older = ExpressionWrapper(Q(age__gt=35), output_field=BooleanField())
    assert flags(older) == [("Ann", False), ("Bob", None), ("Cy", True)]
    # Django negates a nullable comparison as NOT (age > 35 AND age IS NOT NULL): TRUE.
    younger = ExpressionWrapper(~Q(age__gt=35), output_field=BooleanField())
    assert flags(younger) == [("Ann", True), ("Bob", True), ("Cy", False)]
    assert flags(Coalesce(Q(age__gt=35), True, output_field=BooleanField())) == [
        ("Ann", False),
        ("Bob", True),
        ("Cy", True),
    ]
    # Never UNKNOWN: a non-null field compared with a constant stays a plain boolean.
    assert flags(ExpressionWrapper(Q(name="Bob"), output_field=BooleanField())) == [
        ("Ann", False),
        ("Bob", True),
        ("Cy", False),
    ]
    assert list(Author.objects.filter(older).values_list("name", flat=True)) == ["Cy"]
    assert list(Author.objects.exclude(older).values_list("name", flat=True)) == ["Ann"]


def test_bitwise_operators_with_sql_null_semantics(library):
    def values(expression):
        rows = Author.objects.annotate(v=expression).order_by("name")
        return list(rows.values_list("v", flat=True))

    assert values(F("age").bitand(12)) == [30 & 12, None, 45 & 12]
    assert values(F("age").bitor(1)) == [31, None, 45]
    assert values(F("age").bitxor(5)) == [30 ^ 5, None, 45 ^ 5]
    assert values(F("age").bitleftshift(2)) == [120, None, 180]
    assert values(F("age").bitrightshift(2)) == [7, None, 11]
    assert values((F("age") * -1).bitrightshift(2)) == [-30 >> 2, None, -45 >> 2]
    assert list(
        Author.objects.filter(age__isnull=False)
        .annotate(v=F("age").bitand(4))
        .filter(v=4)
        .values_list("name", flat=True)
    ) == ["Ann", "Cy"]


def test_bit_string_and_any_value_aggregates(library):
    from django.db import models

    if not hasattr(models, "BitAnd"):
        pytest.skip("BitAnd, BitOr, BitXor, StringAgg and AnyValue are in Django's core from 6.0")
    totals = Author.objects.aggregate(
        a=models.BitAnd("age"),
        o=models.BitOr("age"),
        x=models.BitXor("age"),
        s=models.StringAgg("name", delimiter=models.Value("|")),
        any=models.AnyValue("age"),
        none=models.BitAnd("age", filter=Q(age__gt=100)),
        nothing=models.StringAgg("name", delimiter=models.Value("|"), filter=Q(age__gt=100)),
    )
    assert totals["a"] == 30 & 45 and totals["o"] == 30 | 45 and totals["x"] == 30 ^ 45
    assert sorted(totals["s"].split("|")) == ["Ann", "Bob", "Cy"]
    assert totals["any"] in (30, 45)
    assert totals["none"] is None and totals["nothing"] is None
    per_author = (
        Book.objects.values("author__name")
        .annotate(pages=models.BitOr("pages"), titles=models.StringAgg("title", models.Value(",")))
        .order_by("author__name")
    )
    assert [(row["author__name"], row["pages"]) for row in per_author] == [
        ("Ann", 100 | 50),
        ("Bob", 10),
        ("Cy", 300),
    ]
    assert sorted(per_author[0]["titles"].split(",")) == ["Alpha", "beta"]
    with pytest.raises(NotSupportedError, match="order on aggregates"):
        Author.objects.aggregate(s=models.StringAgg("name", models.Value(","), order_by="name"))


def test_math_and_text_functions(library):
    import math

    from django.db.models import FloatField, Value
    from django.db.models import functions as fn

    def one(expression, name="Ann"):
        rows = Author.objects.filter(name=name).annotate(v=expression)
        return rows.values_list("v", flat=True)[0]

    assert one(fn.Round(Value(2.5))) == 2  # half to even, as MongoDB's $round
    assert one(fn.Round(Value(1234.5678), 2)) == pytest.approx(1234.57)
    assert one(fn.Round(F("age"), -1)) == 30
    assert one(fn.Round(F("age")), "Bob") is None
    assert (one(fn.Sign(F("age") - 40)), one(fn.Sign(F("age")), "Bob")) == (-1, None)
    assert one(fn.Log(Value(2.0), Value(8.0))) == pytest.approx(3.0)
    assert one(fn.Pi()) == pytest.approx(math.pi)
    assert 0 <= one(fn.Random()) < 1
    assert one(fn.Sin(Value(0.5))) == pytest.approx(math.sin(0.5))
    assert one(fn.ATan2(Value(1.0), Value(2.0))) == pytest.approx(math.atan2(1, 2))
    assert one(fn.Cot(Value(0.5))) == pytest.approx(1 / math.tan(0.5))
    assert one(fn.Degrees(Value(math.pi), output_field=FloatField())) == pytest.approx(180)
    assert one(fn.Radians(Value(180.0))) == pytest.approx(math.pi)
    assert one(fn.Repeat("name", 3)) == "AnnAnnAnn"
    assert one(fn.Reverse("name")) == "nnA"
    assert one(fn.Reverse("name"), "Cy") == "yC"
    assert one(fn.LPad("name", 6, Value("xy"))) == "xyxAnn"
    assert one(fn.RPad("name", 5)) == "Ann  "
    assert one(fn.LPad("name", 2)) == "An"  # cut, as SQL's LPAD does
    assert one(fn.LPad("email", 3, Value("-"))) == "---"
    assert one(fn.JSONObject(n="name", a="age", **{"$where": Value(1)})) == {
        "n": "Ann",
        "a": 30,
        "$where": 1,
    }


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


def test_integer_lookups_beyond_what_a_field_holds_follow_djangos_rule(django_assert_num_queries):
    from tests.testapp.models import AllTypes

    AllTypes.objects.create(big=2**63 - 1)
    AllTypes.objects.create(big=None)
    with django_assert_num_queries(0):
        assert list(AllTypes.objects.filter(big=2**63)) == []  # nothing sent
        assert list(AllTypes.objects.filter(big__gte=2**63)) == []
        assert list(AllTypes.objects.filter(small__lt=-(2**63) - 1)) == []
    # "< 2**63" holds for every value a column can hold: Django drops the condition.
    assert AllTypes.objects.filter(big__lt=2**63).count() == 2
    # exclude() is NOT (big < 2**63 AND big IS NOT NULL): with the first part dropped, the
    # NULL row remains, as on SQLite.
    assert list(AllTypes.objects.exclude(big__lt=2**63).values_list("big", flat=True)) == [None]


def test_union_intersection_difference(library):
    # Author orders by name, which values_list("age") does not select: a combined query of
    # them must be ordered explicitly (or not at all), on every backend.
    ages = Author.objects.values_list("age", flat=True)
    young = ages.filter(age__lt=40)  # Ann 30
    known = ages.filter(age__isnull=False)  # 30, 45
    everyone = ages.all()  # 30, None, 45
    none = Author.objects.none().values_list("age", flat=True)
    assert sorted(young.union(known).order_by()) == [30, 45]  # distinct rows
    assert sorted(young.union(known, all=True).order_by()) == [30, 30, 45]
    assert sorted(everyone.union(young).order_by(), key=str) == [30, 45, None]  # one NULL
    assert list(known.intersection(young).order_by()) == [30]
    assert list(everyone.difference(known).order_by()) == [None]
    assert sorted(everyone.difference(none).order_by(), key=str) == [30, 45, None]
    assert list(young.intersection(none).order_by()) == []
    # ORDER BY, NULLS LAST and slicing apply to the combined rows.
    assert list(everyone.union(young).order_by(F("age").desc(nulls_last=True))) == [45, 30, None]
    assert list(everyone.union(young).order_by("-age")[:1]) == [45]
    assert young.union(known).order_by().count() == 2
    # Different models, the same columns.
    names = Author.objects.values_list("name").union(Book.objects.values_list("title"))
    assert len(names.order_by()) == 7
    with pytest.raises(DatabaseError, match="ORDER BY term"):
        list(young.union(known).order_by("name"))


def test_date_and_duration_arithmetic():
    import datetime

    from django.db.models import DurationField, ExpressionWrapper, Value

    from tests.testapp.models import AllTypes

    moment = datetime.datetime(2024, 3, 1, 12, 0, tzinfo=datetime.UTC)
    row = AllTypes.objects.create(
        moment=moment,
        day=datetime.date(2024, 3, 1),
        duration=datetime.timedelta(hours=36, milliseconds=5),
        clock=datetime.time(10, 30, 15, 250000),
    )
    AllTypes.objects.create()  # NULLs everywhere: NULL results, never errors

    def value(expression, pk=row.pk):
        return AllTypes.objects.filter(pk=pk).annotate(v=expression).values_list("v", flat=True)[0]

    assert value(F("moment") + F("duration")) == moment + datetime.timedelta(
        hours=36, milliseconds=5
    )
    assert value(F("moment") - Value(datetime.timedelta(days=2))) == moment - datetime.timedelta(2)
    assert value(F("day") + Value(datetime.timedelta(days=1))).date() == datetime.date(2024, 3, 2)
    assert value(ExpressionWrapper(F("duration") * 2, DurationField())) == datetime.timedelta(
        hours=72, milliseconds=10
    )
    assert value(F("moment") - F("moment")) == datetime.timedelta(0)
    since = ExpressionWrapper(
        F("moment") - Value(moment - datetime.timedelta(minutes=90)), DurationField()
    )
    assert value(since) == datetime.timedelta(minutes=90)
    assert value(F("clock") - Value(datetime.time(10, 0))) == datetime.timedelta(
        minutes=30, seconds=15, microseconds=250000
    )
    nulls = AllTypes.objects.exclude(pk=row.pk).annotate(v=F("moment") + F("duration"))
    assert list(nulls.values_list("v", flat=True)) == [None]
    later = AllTypes.objects.filter(moment__lt=F("moment") + Value(datetime.timedelta(seconds=1)))
    assert list(later.values_list("pk", flat=True)) == [row.pk]
    assert not AllTypes.objects.filter(moment__lt=F("moment") - Value(datetime.timedelta(days=1)))


def test_inserted_values_computed_by_the_server(django_assert_num_queries):
    from django.db.models import Subquery, Value
    from django.db.models.functions import Lower, Upper

    ann = Author.objects.create(name=Lower(Value("ANN")), age=30)
    assert Author.objects.get(pk=ann.pk).name == "ann"
    oldest = Subquery(Author.objects.order_by("-age").values("age")[:1])
    with django_assert_num_queries(3):  # sequence, one $documents evaluation, insert
        Author.objects.bulk_create(
            [Author(name=Upper(Value("bob")), age=oldest), Author(name="cy", age=None)]
        )
    assert list(Author.objects.order_by("pk").values_list("name", "age")) == [
        ("ann", 30),
        ("BOB", 30),
        ("cy", None),
    ]


def test_values_group_by_keeps_an_exists_as_its_key(library):
    from django.db.models import Exists, Max

    tag = Tag.objects.create(name="t")
    library["books"][0].tags.add(tag)  # Alpha (Ann) has a tag, beta (Ann) has none
    tagged = Exists(Book.tags.through.objects.filter(book=OuterRef("pk")))
    rows = Book.objects.values("author__name").annotate(tagged=tagged, most=Max("pages"))
    assert sorted((r["author__name"], r["tagged"], r["most"]) for r in rows) == [
        ("Ann", False, 50),
        ("Ann", True, 100),
        ("Bob", False, 10),
        ("Cy", False, 300),
    ]
    # A subquery after the group reads the grouped column.
    counted = Author.objects.annotate(n=Count("books")).annotate(
        top=Subquery(
            Book.objects.filter(author=OuterRef("pk")).order_by("-pages").values("pages")[:1]
        )
    )
    assert sorted(counted.values_list("name", "n", "top")) == [
        ("Ann", 2, 100),
        ("Bob", 1, 10),
        ("Cy", 1, 300),
    ]


def test_text_lookups_on_numbers_match_their_text_and_isnull_takes_a_bool(library):
    assert sorted(Book.objects.filter(pages__startswith="1").values_list("pages", flat=True)) == [
        10,
        100,
    ]
    assert Book.objects.filter(pages__regex=r"^5\d$").get().pages == 50
    assert Book.objects.filter(pages__iexact="300").get().title == "Delta"
    with pytest.raises(ValueError, match="True or False"):
        list(Author.objects.filter(age__isnull="yes"))


def test_group_by_ignores_meta_ordering_and_an_annotation_is_grouped_once(library):
    from django.db.models import Exists

    # Author orders by name; grouping by age must not also group by name (Django drops
    # Meta.ordering from GROUP BY queries).
    Author.objects.create(name="Dee", age=30)
    by_age = Author.objects.values("age").annotate(n=Count("pk"))
    assert sorted((row["age"] or 0, row["n"]) for row in by_age) == [(0, 1), (30, 2), (45, 1)]
    has_books = Exists(Book.objects.filter(author=OuterRef("pk")))
    breakdown = Author.objects.values_list(has_books).annotate(n=Count("*"))
    assert dict(breakdown) == {True: 3, False: 1}
