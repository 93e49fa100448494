"""Querysets whose straightforward pipeline MongoDB 7.0 refuses, compiled so that it does not.

Each rule is MongoDB's, cited where it is tested:

- ``$unionWith`` is not allowed in a multi-document transaction (manual, "Transactions and
  Operations"; server: ``TransactionRequirement::kNotAllowed`` in
  src/mongo/db/pipeline/document_source_union_with.h), so inside ``atomic()`` (and so in
  every Django ``TestCase``) a combined queryset runs as one aggregate per queryset;
- ``explain`` is not allowed in a transaction (manual, "Transactions and Operations": "you
  cannot return the supported operation's query plan");
- ``$sort`` takes at most 32 keys (manual, "MongoDB Limits and Thresholds": Maximum Number
  of Sort Keys);
- a command may nest at most 200 BSON levels (server: ``BSONDepth::kDefaultMaxAllowableDepth``
  in src/mongo/bson/bson_depth.h);
- ``$addToSet`` / ``$push`` keep an array per group, refused beyond 100 MB (manual, ``$group``:
  "$addToSet and $push ... memory limit"), so DISTINCT aggregates and ANY_VALUE are built
  without them where the query allows.
"""

from __future__ import annotations

import json

import pytest
from django.db import NotSupportedError, connection, transaction
from django.db.models import (
    Avg,
    BooleanField,
    Case,
    CharField,
    Count,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Concat, Greatest, Least
from django.test.utils import CaptureQueriesContext

from tests.testapp.models import AllTypes, Author, Book

pytestmark = pytest.mark.django_db


def depth(value):
    """BSON nesting levels of a command part (a document or an array is one level)."""
    if isinstance(value, dict):
        return 1 + max((depth(item) for item in value.values()), default=0)
    if isinstance(value, list | tuple):
        return 1 + max((depth(item) for item in value), default=0)
    return 0


def mql(queryset):
    return queryset.query.get_compiler(using=queryset.db).mql()


@pytest.fixture
def people():
    ann = Author.objects.create(name="Ann", age=30)
    bob = Author.objects.create(name="Bob", age=None)
    cy = Author.objects.create(name="Cy", age=45)
    dee = Author.objects.create(name="Dee", age=30)
    Book.objects.create(title="Alpha", author=ann, pages=100)
    Book.objects.create(title="Beta", author=ann, pages=100)
    Book.objects.create(title="Gamma", author=bob, pages=10)
    Book.objects.create(title="Delta", author=cy, pages=300)
    return {"ann": ann, "bob": bob, "cy": cy, "dee": dee}


# -- combined querysets inside a transaction ------------------------------------------------


def combined_cases():
    """(name, queryset factory, expected rows) run inside and outside a transaction."""
    ages = Author.objects.values_list("age", flat=True)
    young = ages.filter(age__lt=40)  # 30, 30
    known = ages.filter(age__isnull=False)  # 30, 45, 30
    everyone = ages.all()  # 30, None, 45, 30
    return [
        ("union", lambda: sorted(young.union(known).order_by()), [30, 45]),
        ("union all", lambda: sorted(young.union(known, all=True).order_by()), [30] * 4 + [45]),
        ("one null", lambda: sorted(everyone.union(young).order_by(), key=str), [30, 45, None]),
        ("intersection", lambda: list(known.intersection(young).order_by()), [30]),
        ("difference", lambda: list(everyone.difference(known).order_by()), [None]),
        (
            "nulls last",
            lambda: list(everyone.union(young).order_by(F("age").desc(nulls_last=True))),
            [45, 30, None],
        ),
        (
            "nulls first",
            lambda: list(everyone.union(young).order_by(F("age").asc(nulls_first=True))),
            [None, 30, 45],
        ),
        (
            "nulls first descending",
            lambda: list(everyone.union(young).order_by(F("age").desc(nulls_first=True))),
            [None, 45, 30],
        ),
        ("descending", lambda: list(everyone.union(young).order_by("-age")), [45, 30, None]),
        ("sliced", lambda: list(everyone.union(young).order_by("-age")[1:3]), [30, None]),
        ("count", lambda: young.union(known).order_by().count(), 2),
        ("count all", lambda: young.union(known, all=True).order_by().count(), 5),
        ("exists", lambda: young.intersection(known).order_by().exists(), True),
        (
            "values",
            lambda: list(
                Author.objects.filter(age=30)
                .values("name", "age")
                .union(Author.objects.filter(name="Cy").values("name", "age"))
                .order_by("-age", "name")
            ),
            [
                {"name": "Cy", "age": 45},
                {"name": "Ann", "age": 30},
                {"name": "Dee", "age": 30},
            ],
        ),
        (
            "two collections",
            lambda: list(
                Author.objects.values_list("name")
                .union(Book.objects.values_list("title"))
                .order_by("-name")[:3]
            ),
            [("Gamma",), ("Delta",), ("Dee",)],
        ),
    ]


@pytest.mark.parametrize(
    "name,run,expected", combined_cases(), ids=[case[0] for case in combined_cases()]
)
def test_combined_querysets_in_a_transaction_send_no_union_with(people, name, run, expected):
    """pytest-django's django_db runs each test inside atomic(), as Django's TestCase does:
    $unionWith would be refused there (OperationNotSupportedInTransaction, code 263)."""
    assert connection.in_atomic_block
    with CaptureQueriesContext(connection) as queries:
        assert run() == expected
    sent = " ".join(query["sql"] for query in queries.captured_queries)
    assert "$unionWith" not in sent
    assert "aggregate" in sent


@pytest.mark.django_db(transaction=True)
def test_combined_querysets_give_the_same_rows_in_and_out_of_a_transaction(people):
    """Outside a transaction the same querysets use $unionWith: both forms agree."""
    outside = {}
    with CaptureQueriesContext(connection) as queries:
        for name, run, expected in combined_cases():
            outside[name] = run()
            assert outside[name] == expected, name
    assert "$unionWith" in " ".join(query["sql"] for query in queries.captured_queries)
    with transaction.atomic():
        for name, run, _expected in combined_cases():
            assert run() == outside[name], name


def test_union_compares_values_as_bson_does():
    """$group compares numbers by value (1 == 1.0) but never a bool with a number, and
    strings byte by byte; the client-side union keeps those rules."""
    Author.objects.create(name="x", age=1)
    AllTypes.objects.create(floating=1.0, char="1")
    AllTypes.objects.create(floating=2.5, flag=True)
    ints = Author.objects.values_list("age", flat=True)
    floats = AllTypes.objects.values_list("floating", flat=True)
    assert sorted(ints.union(floats).order_by()) == [1, 2.5]
    assert ints.union(floats, all=True).order_by().count() == 3
    assert list(ints.intersection(floats).order_by()) == [1]
    flags = AllTypes.objects.filter(flag=True).values_list("flag", flat=True)
    assert sorted(ints.union(flags).order_by(), key=str) == [1, True]
    chars = AllTypes.objects.filter(char__isnull=False).values_list("char", flat=True)
    # BSON orders every number below every string.
    assert list(ints.union(chars).order_by("-age")) == ["1", 1]


def test_nested_combination_in_a_transaction(people):
    ages = Author.objects.values_list("age", flat=True)
    inner = ages.filter(age=30).union(ages.filter(age=45)).order_by()
    assert sorted(inner.union(ages.filter(age__isnull=True)).order_by(), key=str) == [
        30,
        45,
        None,
    ]


def test_str_of_a_combined_query_in_a_transaction_shows_what_runs(people):
    ages = Author.objects.values_list("age", flat=True)
    union = ages.filter(age=30).union(ages.filter(age=45)).order_by()
    text = str(union.query)
    assert "$unionWith" not in text and text.count("aggregate(") == 2
    # mql() shows the single pipeline, as it runs outside a transaction.
    assert "$unionWith" in json.dumps(mql(union))


# -- explain ------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_explain_inside_atomic_runs_outside_the_transaction():
    """MongoDB refuses explain in a transaction: inside atomic() it runs without the
    session, so it opens no transaction (the block's first command here)."""
    Author.objects.create(name="Ann", age=30)
    with transaction.atomic():
        plan = json.loads(Author.objects.filter(name="Ann").explain())
        session = connection.connection.session
        assert session is None or not session.in_transaction
        assert isinstance(plan, dict) and plan
        ages = Author.objects.values_list("age", flat=True)
        union_plan = ages.filter(age=30).union(ages.filter(age=45)).order_by().explain()
        assert "$unionWith" in union_plan
        # The transaction still works after it.
        assert Author.objects.filter(name="Ann").count() == 1


# -- $sort keys ---------------------------------------------------------------------------


def test_order_by_more_than_32_sort_keys_is_refused_naming_the_terms(people):
    terms = {f"t{i}": F("age") + i for i in range(33)}
    queryset = Author.objects.annotate(**terms)
    with pytest.raises(NotSupportedError, match=r"33 sort keys.*at most 32.*t0, t1"):
        list(queryset.order_by(*terms))
    # 32 keys: MongoDB sorts on them.
    names = list(queryset.order_by(*list(terms)[:31], "name").values_list("name", flat=True))
    assert names == ["Bob", "Ann", "Dee", "Cy"]


def test_nulls_first_last_terms_count_their_null_flag(people):
    """A NULLS LAST ascending term sorts on a null flag and on the value: two keys."""
    terms = {f"t{i}": F("age") + i for i in range(17)}
    queryset = Author.objects.annotate(**terms)
    ordering = [F(name).asc(nulls_last=True) for name in terms]
    with pytest.raises(NotSupportedError, match="34 sort keys"):
        list(queryset.order_by(*ordering))
    names = list(queryset.order_by(*ordering[:16]).values_list("name", flat=True))
    assert names[-1] == "Bob" and set(names[:2]) == {"Ann", "Dee"}


def test_combined_order_by_more_than_32_keys_is_refused(people):
    columns = {f"c{i}": F("age") + i for i in range(33)}
    values = Author.objects.annotate(**columns).values_list(*columns)
    with pytest.raises(NotSupportedError, match="at most 32"):
        list(values.union(values).order_by(*columns))


# -- nesting depth ------------------------------------------------------------------------


def test_concat_of_60_values_compiles_flat_and_runs(people):
    parts = []
    for i in range(30):
        parts += [Value(f"<{i}>"), F("name")]
    queryset = Author.objects.filter(name="Ann").annotate(joined=Concat(*parts))
    assert depth(mql(queryset)) < 20
    (joined,) = queryset.values_list("joined", flat=True)
    assert joined == "".join(f"<{i}>Ann" for i in range(30))


def test_concat_turns_null_into_an_empty_string():
    AllTypes.objects.create(char=None, text="t")
    queryset = AllTypes.objects.annotate(
        joined=Concat(Value("a"), "char", Value("b"), "text", output_field=CharField())
    )
    assert queryset.values_list("joined", flat=True).get() == "abt"


def test_one_hundred_ored_filters_stay_flat(people):
    condition = Q()
    for i in range(100):
        condition |= Q(name=f"nobody{i}")
    condition |= Q(name="Cy")
    queryset = Author.objects.filter(condition)
    assert depth(mql(queryset)) < 20
    assert list(queryset.values_list("name", flat=True)) == ["Cy"]


def test_one_hundred_added_columns_compile_to_one_add_and_run(people):
    """``F(a) + F(b) + ...`` is a left-deep tree, one ``$add`` per term: 100 terms would nest
    past the 200 BSON levels a command may have (``BSONDepth::kDefaultMaxAllowableDepth``,
    src/mongo/bson/bson_depth.h). $add and $multiply take any number of arguments, add
    left to right and give null when any argument is null or missing (manual: $add), so the
    chain is one operator; a NULL term still makes the sum NULL."""
    total = F("age")
    for _ in range(99):
        total = total + F("age")
    queryset = Author.objects.annotate(total=total)
    assert depth(mql(queryset)) < 20
    rows = dict(queryset.values_list("name", "total"))
    assert rows == {"Ann": 3000, "Bob": None, "Cy": 4500, "Dee": 3000}


def test_one_hundred_multiplied_columns_compile_to_one_multiply_and_run(people):
    product = F("age")
    for _ in range(99):
        product = product * Value(1)
    queryset = Author.objects.annotate(p=product * F("age"))
    assert depth(mql(queryset)) < 20
    assert dict(queryset.values_list("name", "p")) == {
        "Ann": 900,
        "Bob": None,
        "Cy": 2025,
        "Dee": 900,
    }


def test_many_argument_functions_and_ored_conditions_in_expressions_stay_flat(people):
    """Coalesce, Greatest and Least take their arguments as one list; ORed and ANDed
    conditions inside When and ExpressionWrapper are one $or/$and."""
    ored = Q()
    for i in range(100):
        ored |= Q(name=f"nobody{i}")
    anded = Q()
    for i in range(100):
        anded &= ~Q(name=f"nobody{i}")
    queryset = Author.objects.annotate(
        first=Coalesce(*[F("age") for _ in range(100)], Value(0)),
        top=Greatest(*[F("age") for _ in range(100)]),
        low=Least(*[F("age") for _ in range(100)]),
        hit=Case(When(ored | Q(name="Cy"), then=Value(1)), default=Value(0)),
        kept=ExpressionWrapper(anded & Q(name="Ann"), output_field=BooleanField()),
    )
    assert depth(mql(queryset)) < 20
    rows = {row[0]: row[1:] for row in queryset.values_list("name", "first", "hit", "kept")}
    assert rows == {
        "Ann": (30, 0, True),
        "Bob": (0, 0, False),
        "Cy": (45, 1, False),
        "Dee": (30, 0, False),
    }


def test_distinct_after_group_by_keeps_a_missing_column_with_the_null_ones():
    """DISTINCT after GROUP BY groups whole projected rows (``$group: {_id: "$$ROOT"}``); a
    subquery evaluated after the group that finds no row is *missing* (``$arrayElemAt`` past
    the end), which drops its key from the row document, so it would stand apart from a row
    whose value is null. In SQL both are NULL: one row."""
    ann = Author.objects.create(name="Ann", age=30)
    cy = Author.objects.create(name="Cy", age=45)
    Book.objects.create(title="X", author=ann, editor=ann, price=None)
    Book.objects.create(title="Y", author=cy, editor=None, price=None)
    price = Book.objects.filter(editor=OuterRef("pk")).values("price")[:1]
    queryset = (
        Author.objects.annotate(n=Count("books"), t=Subquery(price))
        .values_list("n", "t")
        .distinct()
    )
    assert list(queryset) == [(1, None)]


# -- aggregates without per-group arrays ----------------------------------------------------


def stages(queryset):
    return json.dumps(mql(queryset)["pipeline"])


def test_distinct_count_groups_twice_instead_of_collecting_a_set(people):
    queryset = (
        Book.objects.values("author__name")
        .annotate(kinds=Count("pages", distinct=True), books=Count("id"), total=Sum("pages"))
        .order_by("author__name")
    )
    text = stages(queryset)
    assert "$addToSet" not in text and "$push" not in text
    assert [(r["author__name"], r["kinds"], r["books"], r["total"]) for r in queryset] == [
        ("Ann", 1, 2, 200),
        ("Bob", 1, 1, 10),
        ("Cy", 1, 1, 300),
    ]


def test_distinct_aggregates_over_the_whole_table(people):
    totals = Author.objects.aggregate(
        ages=Count("age", distinct=True),
        sum=Sum("age", distinct=True),
        avg=Avg("age", distinct=True),
        filtered=Count("age", distinct=True, filter=Q(name__in=["Ann", "Dee"])),
        rows=Count("id"),
    )
    assert totals == {"ages": 2, "sum": 75, "avg": 37.5, "filtered": 1, "rows": 4}
    with CaptureQueriesContext(connection) as queries:
        totals = Author.objects.aggregate(ages=Count("age", distinct=True), rows=Count("id"))
    assert totals == {"ages": 2, "rows": 4}
    assert "$addToSet" not in queries.captured_queries[-1]["sql"]
    empty = Author.objects.filter(age__gt=100).aggregate(
        ages=Count("age", distinct=True), sum=Sum("age", distinct=True)
    )
    assert empty == {"ages": 0, "sum": None}
    nulls = Author.objects.filter(age__isnull=True).aggregate(sum=Sum("age", distinct=True))
    assert nulls == {"sum": None}


def test_distinct_count_next_to_an_average_still_counts(people):
    """AVG cannot be merged across the first $group's partitions: the set is collected."""
    totals = Author.objects.aggregate(ages=Count("age", distinct=True), avg=Avg("age"))
    assert totals == {"ages": 2, "avg": 35.0}


def test_any_value_collects_no_array(people):
    from django.db import models

    if not hasattr(models, "AnyValue"):
        pytest.skip("AnyValue is in Django's core from 6.0")
    queryset = (
        Book.objects.values("author__name")
        .annotate(title=models.AnyValue("title"))
        .order_by("author__name")
    )
    assert "$push" not in stages(queryset)
    rows = {row["author__name"]: row["title"] for row in queryset}
    assert rows["Ann"] in ("Alpha", "Beta") and rows["Bob"] == "Gamma"
    nulls = Author.objects.aggregate(any=models.AnyValue("age", filter=Q(age__isnull=True)))
    assert nulls == {"any": None}
    assert Author.objects.aggregate(any=models.AnyValue("age"))["any"] in (30, 45)
