"""Limits MongoDB 7.0 puts on commands (compiler/limits.py and the compilers that keep
pipelines flat), checked before anything is sent:

- ``$sort`` takes at most 32 keys (manual, "MongoDB Limits and Thresholds": Maximum Number
  of Sort Keys);
- a command may nest at most 200 BSON levels (server: ``BSONDepth::kDefaultMaxAllowableDepth``
  in src/mongo/bson/bson_depth.h).
"""

from __future__ import annotations

import pytest
from django.db import NotSupportedError
from django.db.models import (
    BooleanField,
    Case,
    ExpressionWrapper,
    F,
    Q,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Concat, Greatest, Least

from tests.compiler.golden import depth, mql
from tests.testapp.models import Author

pytestmark = pytest.mark.django_db


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


def test_concat_of_60_values_compiles_flat_and_runs(people):
    parts = []
    for i in range(30):
        parts += [Value(f"<{i}>"), F("name")]
    queryset = Author.objects.filter(name="Ann").annotate(joined=Concat(*parts))
    assert depth(mql(queryset)) < 20
    (joined,) = queryset.values_list("joined", flat=True)
    assert joined == "".join(f"<{i}>Ann" for i in range(30))


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
