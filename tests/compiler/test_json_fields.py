"""Django's JSONField lookups on MongoDB: keys, contains/contained_by, has_key(s), NULLs."""

from __future__ import annotations

import pytest
from bson.max_key import MaxKey
from django.db import NotSupportedError
from django.db.models import F, JSONField, Q, Value
from django.db.models.fields.json import KT, KeyTransform, KeyTransformIExact

from tests.compiler.golden import pipeline
from tests.fieldsapp.models import Document

pytestmark = pytest.mark.django_db


def names(queryset):
    return list(queryset.values_list("name", flat=True))


@pytest.fixture
def documents():
    rows = {
        "a": {"k": "v", "n": 1, "owner": {"name": "Ann", "age": 30}, "list": [1, 2, {"x": 1}]},
        "b": {"k": "w", "n": 2.5, "owner": None, "list": []},
        "c": {"n": "3", "owner": {"name": "Bob"}, "tags": ["p", "q"]},
        "d": [1, "two", {"k": "v"}],
        "e": "scalar",
        "f": None,
    }
    for name, data in rows.items():
        Document.objects.create(name=name, data=data)


def test_round_trip(documents):
    assert Document.objects.get(name="a").data["owner"] == {"name": "Ann", "age": 30}
    assert Document.objects.get(name="d").data == [1, "two", {"k": "v"}]


def test_key_exact(documents):
    assert names(Document.objects.filter(data__k="v")) == ["a"]
    assert names(Document.objects.filter(data__owner__name="Ann")) == ["a"]
    assert names(Document.objects.filter(data__n=1)) == ["a"]
    assert names(Document.objects.filter(data__owner={"age": 30, "name": "Ann"})) == ["a"]
    assert names(Document.objects.filter(data__list__2__x=1)) == ["a"]
    assert names(Document.objects.filter(data__1="two")) == ["d"]
    assert names(Document.objects.filter(data__tags__0="p")) == ["c"]
    # A user value is data, never an operator.
    assert names(Document.objects.filter(data__k={"$ne": 1})) == []
    assert names(Document.objects.filter(data__k="$k")) == []
    assert pipeline(Document.objects.filter(data__a=1)) == [
        {
            "$match": {
                "$and": [
                    {"data": {"$not": {"$type": "array"}}},
                    {"data.a": {"$eq": 1, "$not": {"$type": "array"}}},
                ]
            }
        },
        {"$sort": {"name": 1}},
    ]


def test_key_equal_to_a_scalar_is_a_query_operator_with_the_expression_s_answer():
    """``data__a__b=v`` (a number, string or boolean) is ``{"data.a.b": {"$eq": v}}``, which
    an index on ``data.a.b`` can answer, where no step of the path is an array: a dotted path
    walks into arrays and equality matches an array holding the value (manual, "Query an
    Array"; ``$type: "array"`` tests the field itself, 3.6+), where a key transform reads
    NULL from an array (``data__a`` of ``[{"a": 1}]``) and compares an array as a whole.
    Equality is type-bracketed (manual, "Comparison/Sort Order"): 1 = 1.0, never "1" or
    true. The rows are those of the expression (FALSE and the other forms keep it)."""
    rows = {
        "int": {"a": 1},
        "double": {"a": 1.0},
        "text": {"a": "1"},
        "true": {"a": True},
        "array": {"a": [1, 2]},
        "nested": {"a": [[1]]},
        "object": {"a": {"b": 1}},
        "null": {"a": None},
        "absent": {"b": 1},
        "in array": [{"a": 1}],
        "deep": {"a": {"b": "x"}},
        "deep in array": {"a": [{"b": "x"}]},
        "top array": [{"a": {"b": "x"}}],
        "scalar": 1,
        "sql null": None,
    }
    for name, data in rows.items():
        Document.objects.create(name=name, data=data)
    assert names(Document.objects.filter(data__a=1)) == ["double", "int"]
    assert names(Document.objects.filter(data__a=1.0)) == ["double", "int"]
    assert names(Document.objects.filter(data__a="1")) == ["text"]
    assert names(Document.objects.filter(data__a=True)) == ["true"]
    assert names(Document.objects.filter(data__a__b="x")) == ["deep"]
    assert names(Document.objects.filter(data__a__b=1)) == ["object"]
    # The expression forms give the same rows: FALSE (exclude), an integer key, a list.
    # exclude() is NOT (data -> a = 1) OR data IS NULL: a JSON null, an absent key and a
    # non-object are NULL, neither TRUE nor FALSE.
    assert names(Document.objects.exclude(data__a=1)) == [
        "array",
        "deep",
        "deep in array",
        "nested",
        "object",
        "sql null",
        "text",
        "true",
    ]
    assert names(Document.objects.filter(data__a__0=1)) == ["array"]
    assert names(Document.objects.filter(data__a=[1, 2])) == ["array"]
    assert pipeline(Document.objects.filter(data__a__b="x").order_by()) == [
        {
            "$match": {
                "$and": [
                    {"data": {"$not": {"$type": "array"}}},
                    {"data.a": {"$not": {"$type": "array"}}},
                    {"data.a.b": {"$eq": "x", "$not": {"$type": "array"}}},
                ]
            }
        }
    ]
    # A key with spaces or punctuation stays an expression (it names the key as a $literal).
    assert list(pipeline(Document.objects.filter(**{"data__a b": 1}).order_by())[0]["$match"]) == [
        "$expr"
    ]
    excluded = pipeline(Document.objects.exclude(data__a=1).order_by())[0]["$match"]
    (expression,) = (part["$expr"] for part in excluded["$or"] if "$expr" in part)
    # FALSE needs the key's value twice (not null, not 1): it is computed once.
    assert list(expression) == ["$let"]
    assert expression["$let"]["in"] == {
        "$and": [
            {"$gt": ["$$g0", None]},
            {"$not": [{"$eq": ["$$g0", {"$literal": 1}]}]},
        ]
    }


def test_key_none_is_json_null_and_isnull_is_absence(documents):
    assert names(Document.objects.filter(data__owner=None)) == ["b"]
    assert names(Document.objects.filter(data__owner__isnull=True)) == ["d", "e", "f"]
    assert names(Document.objects.filter(data__owner__isnull=False)) == ["a", "b", "c"]
    assert names(Document.objects.filter(data__k__isnull=True)) == ["c", "d", "e", "f"]


def test_key_sql_null_semantics(documents):
    # c has no "k": k = "v" is UNKNOWN, so neither it nor its negation matches c.
    positive = set(names(Document.objects.filter(data__k="v")))
    negative = set(names(Document.objects.filter(~Q(data__k="v"), data__isnull=False)))
    assert positive == {"a"}
    assert negative == {"b"}


def test_key_comparisons(documents):
    assert names(Document.objects.filter(data__n__gt=1)) == ["b"]  # "3" is a string
    assert names(Document.objects.filter(data__n__lte=2.5)) == ["a", "b"]
    assert names(Document.objects.filter(data__n__gt="2")) == ["c"]
    assert names(Document.objects.filter(data__k__in=["w", "z"])) == ["b"]


def test_key_text_lookups(documents):
    assert names(Document.objects.filter(data__owner__name__iexact="ann")) == ["a"]
    assert names(Document.objects.filter(data__owner__name__icontains="o")) == ["c"]
    assert names(Document.objects.filter(data__k__startswith="w")) == ["b"]
    assert names(Document.objects.filter(data__n__contains="3")) == ["c"]
    assert names(Document.objects.filter(data__k__regex=r"^[vw]$")) == ["a", "b"]
    assert names(Document.objects.filter(data__k__iendswith="W")) == ["b"]


def test_has_key(documents):
    assert names(Document.objects.filter(data__has_key="owner")) == ["a", "b", "c"]
    assert names(Document.objects.filter(data__has_keys=["k", "owner"])) == ["a", "b"]
    assert names(Document.objects.filter(data__has_any_keys=["tags", "k"])) == ["a", "b", "c"]
    assert names(Document.objects.filter(data__owner__has_key="age")) == ["a"]
    # The last key is an object's key, never an array index (Django's
    # HasKeyLookup.compile_json_path_final_key): "d" is an array with an element 2.
    assert names(Document.objects.filter(data__has_key="2")) == []
    assert names(Document.objects.filter(data__has_any_keys=["0", "k"])) == ["a", "b"]
    # Keys before the last may index arrays.
    assert names(Document.objects.filter(data__list__2__has_key="x")) == ["a"]
    assert names(Document.objects.filter(~Q(data__has_key="owner"), name__gt="")) == [
        "d",
        "e",
        "f",
    ]
    assert pipeline(Document.objects.filter(data__has_key="a")) == [
        {
            "$match": {
                "$expr": {
                    "$and": [
                        {"$gt": ["$data", None]},
                        {
                            "$switch": {
                                "branches": [
                                    {
                                        "case": {"$eq": [{"$type": "$data"}, "object"]},
                                        "then": {
                                            "$in": [
                                                {"$literal": "a"},
                                                {
                                                    "$map": {
                                                        "input": {"$objectToArray": "$data"},
                                                        "as": "kv",
                                                        "in": "$$kv.k",
                                                    }
                                                },
                                            ]
                                        },
                                    }
                                ],
                                "default": False,
                            }
                        },
                    ]
                }
            }
        },
        {"$sort": {"name": 1}},
    ]


def test_has_key_given_a_key_path(documents):
    """A key transform on the right is a path below the column (its own column is not
    read), as Django's SQL backends compile it."""
    assert names(Document.objects.filter(data__has_key=F("data__owner__age"))) == ["a"]
    path = KeyTransform("x", KeyTransform(2, KeyTransform("list", "data")))
    assert names(Document.objects.filter(data__has_key=path)) == ["a"]
    assert names(Document.objects.filter(data__has_key=KT("data__owner__name"))) == ["a", "c"]


def test_key_equal_to_json_null(documents):
    """JSON null given as an expression (``Value(None, JSONField())``, Django 6's
    ``JSONNull()``) matches a present null, as ``=None`` does; ``iexact=None`` too."""
    json_null = Value(None, JSONField())
    assert names(Document.objects.filter(data__owner=json_null)) == ["b"]
    # Where Django reads key__iexact=None as key=None (6.1); before, as key__isnull=True.
    reads_as_exact = getattr(KeyTransformIExact, "can_use_none_as_rhs", False)
    expected = ["b"] if reads_as_exact else ["d", "e", "f"]
    assert names(Document.objects.filter(data__owner__iexact=None)) == expected
    assert names(Document.objects.filter(data__2=json_null)) == []


def test_key_in_with_expressions(documents):
    assert names(Document.objects.filter(data__k__in=[F("data__k"), "zzz"])) == ["a", "b"]
    assert names(Document.objects.filter(data__owner__in=[{"name": "Bob"}, "x"])) == ["c"]
    # JSON null in the list matches a present null, not an absent key.
    in_list = [Value(None, JSONField()), {"name": "Bob"}]
    assert names(Document.objects.filter(data__owner__in=in_list)) == ["b", "c"]


def test_contains(documents):
    assert names(Document.objects.filter(data__contains={"k": "v"})) == ["a"]
    assert names(Document.objects.filter(data__contains={"owner": {"name": "Ann"}})) == ["a"]
    assert names(Document.objects.filter(data__contains={"list": [{"x": 1}]})) == ["a"]
    assert names(Document.objects.filter(data__contains={"list": []})) == ["a", "b"]
    assert names(Document.objects.filter(data__contains={})) == ["a", "b", "c"]
    assert names(Document.objects.filter(data__contains=[{"k": "v"}])) == ["d"]
    assert names(Document.objects.filter(data__contains="two")) == ["d"]  # top-level element
    assert names(Document.objects.filter(data__contains="scalar")) == ["e"]
    assert names(Document.objects.filter(data__owner__contains={"age": 30})) == ["a"]
    assert names(Document.objects.filter(data__contains={"owner": None})) == ["b"]


def test_contained_by(documents):
    assert names(
        Document.objects.filter(data__contained_by={"k": "w", "n": 2.5, "owner": None, "list": []})
    ) == ["b"]
    assert names(Document.objects.filter(data__owner__contained_by={"name": "Bob", "x": 1})) == [
        "c"
    ]
    assert names(Document.objects.filter(data__contained_by=[1, "two", {"k": "v", "z": 0}])) == [
        "d"
    ]
    assert names(Document.objects.filter(data__contained_by=["scalar"])) == ["e"]


def test_values_order_and_kt(documents):
    assert list(
        Document.objects.filter(name__in=["a", "b", "c"]).values_list(
            "data__owner__name", flat=True
        )
    ) == ["Ann", None, "Bob"]
    assert names(Document.objects.filter(name__in=["a", "b"]).order_by("-data__n")) == ["b", "a"]
    assert list(
        Document.objects.filter(name__in=["a", "c"])
        .annotate(n=KT("data__n"))
        .values_list("n", flat=True)
    ) == ["1", "3"]
    assert names(Document.objects.filter(data__k=F("data__k"))) == ["a", "b"]


def test_whole_field_icontains_is_refused(documents):
    with pytest.raises(NotSupportedError, match="icontains"):
        list(Document.objects.filter(data__icontains="x"))


def test_json_null_of_a_nullable_field_is_told_from_sql_null():
    """JSON null (MaxKey in storage) and SQL NULL (null) are two values: see
    tests/compiler/test_json_null.py for every lookup, compared with SQLite."""
    from tests.testapp.models import AllTypes

    sql_null = AllTypes.objects.create(data=None)
    json_null = AllTypes.objects.create(data=Value(None, JSONField()))
    assert list(AllTypes.objects.filter(data=Value(None, JSONField()))) == [json_null]
    assert list(AllTypes.objects.filter(data__isnull=True)) == [sql_null]
    assert pipeline(AllTypes.objects.filter(data=Value(None, JSONField())).values("pk")) == [
        {"$match": {"$expr": {"$eq": ["$data", {"$literal": MaxKey()}]}}},
        {"$project": {"_id": 1}},
    ]


def test_json_field_lookups_match_json_semantics():
    from tests.testapp.models import AllTypes

    AllTypes.objects.create(data={"b": [1, {"y": 2, "x": 1}], "a": 1})
    # contains and has_key compile through compiler/json_fields.py (the tests above).
    assert AllTypes.objects.filter(data__contains={"a": 1}).count() == 1
    assert AllTypes.objects.filter(data__contains={"b": [{"x": 1}]}).count() == 1
    assert AllTypes.objects.filter(data__contains={"a": 2}).count() == 0
    assert AllTypes.objects.filter(data__has_key="a").count() == 1
    assert AllTypes.objects.filter(data__has_key="z").count() == 0
    # Equality of JSON objects does not depend on key order.
    assert AllTypes.objects.filter(data={"a": 1, "b": [1, {"x": 1, "y": 2}]}).count() == 1
