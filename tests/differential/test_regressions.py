"""Minimal querysets on which the MongoDB backend and SQLite disagreed (found by
test_differential.py, shrunk, then cut down by hand).

Each is xfail(strict=True) naming the bug, so fixing the compiler turns it into an XPASS
failure: then drop the mark here and the class's entry in known.py. Comments give SQLite's
(the expected) result and what the backend returned when the case was found.
"""

from __future__ import annotations

from uuid import UUID

import pytest

from .compare import compare, pipeline
from .conftest import DB
from .models import Author, Book
from .queries import Spec

pytestmark = [
    pytest.mark.django_db(**DB),
    pytest.mark.usefixtures("differential_data"),
]


def assert_same(source, ordered=True):
    outcome = compare(Spec(source, ordered))
    assert outcome.kind in ("equal", "both_raised"), outcome.report()


def xfail(reason):
    return pytest.mark.xfail(strict=True, reason=reason)


@xfail("Lower()/Upper() of NULL is '' ($toLower/$toUpper turn null into ''), SQL gives NULL")
def test_lower_of_null():
    # SQLite: (4, None, None); MongoDB: (4, None, '').
    assert_same("Publisher.objects.values_list('pk', 'country', Lower('country')).order_by('pk')")


@xfail("Upper() of NULL is '' as well")
def test_upper_of_null():
    assert_same("Author.objects.values_list('pk', Upper('nickname')).order_by('pk')")


@xfail(
    "exclude()/~Q across a multi-valued relation: Django's NOT EXISTS subquery is compiled as a "
    "$lookup from the *outer* collection with 'U1.'-prefixed paths, so it never matches"
)
def test_exclude_across_reverse_fk():
    # SQLite: [5] (the publisher without books); MongoDB: [1, 2, 3, 4, 5].
    assert_same(
        "Publisher.objects.exclude(books__in_print=True).values_list('pk', flat=True)"
        ".order_by('pk')"
    )


@xfail("~Q across an M2M: same cause as test_exclude_across_reverse_fk")
def test_negated_q_across_m2m():
    assert_same(
        "Book.objects.filter(~Q(authors__active=True)).values_list('pk', flat=True).order_by('pk')"
    )


@xfail(
    "NOT of a comparison whose operand is a NULL computed value (annotation, aggregate): SQL "
    "gives UNKNOWN (row excluded), the pipeline's null guard makes it FALSE so NOT is TRUE"
)
def test_negated_comparison_of_null_annotation():
    # SQLite: []; MongoDB: [(1, None), (2, None)] (authors without a mentor).
    assert_same(
        "Author.objects.annotate(m=ExtractMonth('mentor__born')).filter(~Q(m__lt=100))"
        ".values_list('pk', 'm').order_by('pk')"
    )


@xfail("HAVING NOT (aggregate <= x) keeps groups whose aggregate is NULL (same 3VL cause)")
def test_exclude_on_null_aggregate():
    # SQLite omits book 11 (no editor: Max is NULL); MongoDB returns (11, None).
    assert_same(
        "Book.objects.annotate(a1=Max('editor__pk')).exclude(a1__lte=1)"
        ".values_list('pk', 'a1').order_by('pk')"
    )


@xfail(
    "exclude(pk__in=<subquery yielding a NULL>): SQL's NOT IN (..., NULL) is never true; the "
    "subquery is inlined as a literal list without the NULL, so rows come back"
)
def test_not_in_subquery_containing_null():
    # Author 10 has no books, so the subquery yields NULL. SQLite: []; MongoDB: every book
    # but 6 and 8 (author 9's), the subquery inlined as {"$nor": [{"_id": {"$in": [6, 8]}}]}.
    assert_same(
        "Book.objects.exclude(pk__in=Author.objects.filter(pk__gte=9).values('books'))"
        ".values_list('pk', flat=True).order_by('pk')"
    )


@xfail(
    "nulls_last/nulls_first is ignored after a $group (distinct() or an aggregate "
    "annotation) or on a computed value: the null flag reads '$__o0', a key computed in the "
    "same stage, so it is always 0"
)
def test_nulls_last_with_distinct():
    assert_same(
        "Author.objects.order_by(F('nickname').asc(nulls_last=True), 'pk').distinct()"
        ".values_list('pk', 'nickname')"
    )


@xfail(
    "nulls_first on a computed value without $group: the flag is built in the same $addFields "
    "as '__o1' and reads '$__o1' (missing there): same cause as test_nulls_last_with_distinct"
)
def test_nulls_first_on_computed_value():
    # SQLite puts author 7 (no mentor: Trim() is NULL) first among active=NULL; MongoDB last.
    assert_same(
        "Author.objects.annotate(a0=Trim('mentor__name'))"
        ".order_by(F('a0').desc(nulls_first=True), 'pk').values_list('pk', 'a0')"
    )


@xfail("nulls_last after an aggregate annotation: same cause as test_nulls_last_with_distinct")
def test_nulls_last_with_aggregate():
    # SQLite puts authors 10 and 12 (no books: Min is NULL) last; MongoDB puts them first.
    assert_same(
        "Author.objects.annotate(a0=Min('books__published'))"
        ".order_by(F('a0').asc(nulls_last=True), 'pk').values_list('pk', 'a0')"
    )


@xfail(
    "__in compiled as an aggregation expression (inside Case/When, $expr) wraps the list in "
    "another list: {'$in': ['$price', [{'$literal': [...]}]]} never matches"
)
def test_in_inside_case_when():
    # SQLite: book 13 (price 99.99) gets 1; MongoDB: every book gets 0.
    assert_same(
        "Book.objects.annotate(a0=Case(When(price__in=[Decimal('99.99')], then=Value(1)),"
        " default=Value(0))).values_list('pk', 'a0').order_by('pk')"
    )


@xfail("__in=<subquery> inside Case/When: same cause as test_in_inside_case_when")
def test_in_subquery_inside_case_when():
    assert_same(
        "Book.objects.annotate(a0=Case(When(pk__in=Author.objects.values('books'),"
        " then=Value(1)), default=Value(0))).values_list('pk', 'a0').order_by('pk')"
    )


@xfail(
    "an OR of an aggregate condition and a condition on a joined multi-valued column goes to "
    "HAVING, and Django adds that column to GROUP BY; the pipeline neither groups by it nor "
    "keeps it after $group, so the $match reads a missing field"
)
def test_or_of_aggregate_and_joined_column():
    # SQLite: 13 rows (grouped per publisher and book pages), counts 20/10/15/7/28/0;
    # MongoDB: one row per publisher with counts 4/100/25/49/0.
    assert_same(
        "Publisher.objects.annotate(g=Count('books'))"
        ".filter(Q(books__pages__isnull=True) | Q(g__gt=5)).values_list('pk', 'g')",
        ordered=False,
    )


@xfail(
    "embedded server: {'$in': []} in a $match is pushed down to SQL as 'IN ()', a syntax "
    "error (real MongoDB matches nothing; Django's SQL backends raise EmptyResultSet and "
    "return [] without a query)"
)
def test_empty_in_list():
    assert_same("Author.objects.filter(Q(mentor_id__in=[])).values_list('pk', flat=True)")


@xfail(
    "unsupported, not wrong: aggregates with filter= raise NotSupportedError ('the "
    "AggregateFilter function is not supported by the MongoDB backend yet', Django 6)"
)
def test_aggregate_with_filter():
    assert_same("Book.objects.aggregate(n=Count('pk', filter=Q(pages__gt=1)))")


@xfail(
    "str(qs.query) raises ValueError for a UUID value: commands.to_json's JSONOptions have no "
    "uuid_representation (the query itself runs)"
)
def test_str_of_query_with_uuid():
    str(Book.objects.using("default").filter(code=UUID(int=1)).query)


@xfail(
    "str(qs.query) raises TypeError for a value containing '%': Query.__str__ does "
    "sql % params and as_sql returns the pipeline text with an unescaped '%'"
)
def test_str_of_query_with_percent():
    str(Author.objects.using("default").filter(name__contains="%").query)


def test_pipeline_is_shown_for_reports():
    assert "aggregate" in pipeline("Book.objects.filter(pages__gt=1)")
