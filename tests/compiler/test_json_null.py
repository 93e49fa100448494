"""A JSON null apart from SQL NULL in a nullable JSONField, row for row against SQLite.

SQLite stores a JSON null as the text ``null`` and SQL NULL as NULL, so its rows are Django's
semantics ("Storing and querying for None" in Django's JSONField docs): ``JSONNull()`` /
``Value(None, JSONField())`` store and match the JSON null, ``None`` stores SQL NULL,
``__isnull=True`` matches SQL NULL only, and a key's null is a JSON null inside the value. The
backend stores the column's JSON null as MaxKey (docs/fields.rst, "JSON null and SQL NULL").
"""

from __future__ import annotations

import json
import warnings

import pytest
from bson.max_key import MaxKey
from django.db import connections, models
from django.db.models import Case, Count, F, Q, Value, When, functions
from django.db.models.fields import json as django_json
from django.db.models.functions import Cast, Coalesce, JSONObject

from tests.jsonapp.models import Row

MONGO, SQLITE = "default", "sqlite"
pytestmark = pytest.mark.django_db(databases=[MONGO, SQLITE])

#: Django 6.1's JSONNull(); before it, Value(None, JSONField()) says the same.
JSONNull = getattr(models, "JSONNull", None) or (lambda: Value(None, models.JSONField()))
HAS_JSON_IN = hasattr(django_json, "JSONIn")  # Django 6.0+: JSONNull() in data__in
#: Inside an expression that is saved (Case, bulk_update), Value(None, JSONField()) is SQL
#: NULL (Value.as_sql calls get_db_prep_save when resolved for a save); JSONNull() is always
#: the JSON null.
SAVED_JSON_NULL = "json null" if hasattr(models, "JSONNull") else "sql null"

ROWS = {
    "sql null": None,
    "json null": "JSON_NULL",  # JSONNull(), made per alias
    "key null": {"a": None},
    "key": {"a": 1, "b": {"c": None}},
    "array": [None, 1],
    "zero": 0,
    "empty": {},
    "text null": "null",  # the JSON string "null", not a null
}


def create_rows(alias):
    for name, data in ROWS.items():
        value = JSONNull() if data == "JSON_NULL" else data
        other = JSONNull() if name in ("json null", "key") else None
        Row.objects.using(alias).create(name=name, data=value, other=other)


@pytest.fixture
def rows():
    for alias in (MONGO, SQLITE):
        create_rows(alias)


def on_both(build):
    """``build(manager)`` evaluated on MongoDB and on SQLite."""
    results = []
    for alias in (MONGO, SQLITE):
        with warnings.catch_warnings():
            # Django 6.1 deprecates data=None for the JSON null (JSONNull() says it).
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", PendingDeprecationWarning)
            result = build(Row.objects.using(alias))
            results.append(result if not hasattr(result, "__iter__") else list(result))
    return results


def names(queryset):
    return queryset.values_list("name", flat=True)


QUERIES = {
    "exact JSONNull": lambda rows: names(rows.filter(data=JSONNull())),
    "exact None": lambda rows: names(rows.filter(data=None)),
    "exact Value(None)": lambda rows: names(rows.filter(data=Value(None, models.JSONField()))),
    "isnull": lambda rows: names(rows.filter(data__isnull=True)),
    "not isnull": lambda rows: names(rows.filter(data__isnull=False)),
    "exclude JSONNull": lambda rows: names(rows.exclude(data=JSONNull())),
    "exclude None": lambda rows: names(rows.exclude(data=None)),
    "exclude isnull": lambda rows: names(rows.exclude(data__isnull=True)),
    "either": lambda rows: names(rows.filter(Q(data__isnull=True) | Q(data=JSONNull()))),
    "key None": lambda rows: names(rows.filter(data__a=None)),
    "key JSONNull": lambda rows: names(rows.filter(data__a=JSONNull())),
    "nested key None": lambda rows: names(rows.filter(data__b__c=None)),
    "index None": lambda rows: names(rows.filter(data__0=None)),
    "key isnull": lambda rows: names(rows.filter(data__a__isnull=True)),
    "key not isnull": lambda rows: names(rows.filter(data__a__isnull=False)),
    "exclude key None": lambda rows: names(rows.exclude(data__a=None)),
    "has_key": lambda rows: names(rows.filter(data__has_key="a")),
    "exclude has_key": lambda rows: names(rows.exclude(data__has_key="a")),
    "text null": lambda rows: names(rows.filter(data="null")),
    "equal columns": lambda rows: names(rows.filter(data=F("other"))),
    "values": lambda rows: rows.values_list("name", "data"),
    "key values": lambda rows: rows.values_list("name", "data__a"),
    "as a condition": lambda rows: rows.annotate(j=Q(data=JSONNull())).values_list("name", "j"),
    "case": lambda rows: rows.annotate(
        kind=Case(
            When(data=JSONNull(), then=Value("json")),
            When(data__isnull=True, then=Value("sql")),
            default=Value("value"),
        )
    ).values_list("name", "kind"),
    "coalesce keeps a JSON null": lambda rows: names(
        rows.annotate(c=Coalesce("data", Value({"d": 1}, models.JSONField()))).filter(
            c__has_key="d"
        )
    ),
    "cast": lambda rows: names(
        rows.annotate(c=Cast("data", models.JSONField())).filter(c__isnull=True)
    ),
    "count": lambda rows: rows.aggregate(n=Count("data"), all=Count("*")),
    "distinct": lambda rows: (
        rows.filter(name__in=["sql null", "json null"])
        .values_list("data", flat=True)
        .distinct()
        .count()
    ),
}
if HAS_JSON_IN:
    # SQLite extracts the JSON string "null" as the text null, equal to JSONNull()'s "null":
    # PostgreSQL's jsonb keeps them apart, so that row is left out here.
    QUERIES["in JSONNull"] = lambda rows: names(
        rows.exclude(name="text null").filter(data__in=[JSONNull(), 0])
    )
    QUERIES["in None"] = lambda rows: names(rows.filter(data__in=[None, 0]))
    QUERIES["key in JSONNull"] = lambda rows: names(rows.filter(data__a__in=[JSONNull(), 1]))


@pytest.mark.parametrize("query", QUERIES.values(), ids=QUERIES.keys())
def test_queries_match_sqlite(rows, query):
    mongo, sqlite = on_both(query)
    assert mongo == sqlite


#: SQLite has no contains / contained_by: PostgreSQL's jsonb answers (its manual, "jsonb
#: Containment and Existence"): 'null' contains and is contained by 'null' only, never an
#: object; SQL NULL is UNKNOWN, and exclude() adds "IS NOT NULL" inside its NOT.
POSTGRESQL = {
    "contains key null": (
        lambda rows: names(rows.filter(data__contains={"a": None})),
        ["key null"],
    ),
    "contains {}": (
        lambda rows: names(rows.filter(data__contains={})),
        ["empty", "key", "key null"],
    ),
    "exclude contains {}": (
        lambda rows: names(rows.exclude(data__contains={})),
        ["array", "json null", "sql null", "text null", "zero"],
    ),
    "contained_by": (
        lambda rows: names(rows.filter(data__contained_by={"a": None, "b": 1})),
        ["empty", "key null"],
    ),
    "contains a null element": (lambda rows: names(rows.filter(data__contains=[None])), ["array"]),
    "coalesce then contains": (
        lambda rows: names(
            rows.annotate(c=Coalesce("data", Value({"d": 1}, models.JSONField()))).filter(
                c__contains={"d": 1}
            )
        ),
        ["sql null"],
    ),
}


# SQLite's JSON_OBJECT / JSON_ARRAY embed a JSON column as its text (a string); PostgreSQL's
# jsonb_build_object / jsonb_build_array embed the value, a JSON null as null.
POSTGRESQL["in a JSON object"] = (
    lambda rows: rows.filter(name__in=["sql null", "json null", "key null"]).values_list(
        "name", JSONObject(v="data")
    ),
    [("json null", {"v": None}), ("key null", {"v": {"a": None}}), ("sql null", {"v": None})],
)
if hasattr(functions, "JSONArray"):  # Django 5.2+
    POSTGRESQL["in a JSON array"] = (
        lambda rows: rows.filter(name__in=["sql null", "json null", "array"]).values_list(
            "name", functions.JSONArray("data", "other")
        ),
        [("array", [[None, 1], None]), ("json null", [None, None]), ("sql null", [None, None])],
    )


@pytest.mark.parametrize("case", POSTGRESQL.values(), ids=POSTGRESQL.keys())
def test_containment_as_postgresql(rows, case):
    query, expected = case
    assert list(query(Row.objects.using(MONGO))) == expected


def test_a_json_null_nested_by_json_object_is_a_plain_null(rows):
    rows = Row.objects.using(MONGO)
    rows.filter(name="json null").update(other=JSONObject(v="data"))
    assert list(names(rows.filter(other__v=None))) == ["json null"]
    assert list(names(rows.filter(other__contains={"v": None}))) == ["json null"]


@pytest.mark.skipif(
    not hasattr(models, "JSONNull"), reason="Django 6.1 deprecates data=None for the JSON null"
)
def test_none_for_the_json_null_warns_as_on_sql_backends(rows):
    from django.utils.deprecation import RemovedInDjango2028Warning

    for alias in (MONGO, SQLITE):
        with pytest.warns(RemovedInDjango2028Warning, match="JSONNull"):
            assert list(names(Row.objects.using(alias).filter(data=None))) == ["json null"]


def stored(manager):
    """What each row holds: SQL NULL, JSON null or a value (Python reads both nulls as None)."""
    sql_null = set(names(manager.filter(data__isnull=True)))
    json_null = set(names(manager.filter(data=JSONNull())))
    return [
        (name, "sql null" if name in sql_null else "json null" if name in json_null else data)
        for name, data in manager.values_list("name", "data")
    ]


def write_and_compare(write):
    for alias in (MONGO, SQLITE):
        write(Row.objects.using(alias))
    mongo, sqlite = on_both(stored)
    assert mongo == sqlite
    return mongo


def test_update_with_json_null_and_sql_null(rows):
    def write(rows):
        rows.filter(name="key").update(data=Value(None, models.JSONField()))
        rows.filter(name="zero").update(data=JSONNull())
        rows.filter(name="json null").update(data=None)
        rows.filter(name="array").update(other=F("data"))  # copies a value
        rows.filter(name="empty").update(data=F("other"))  # copies SQL NULL

    result = dict(write_and_compare(write))
    assert result["key"] == result["zero"] == "json null"
    assert result["json null"] == result["empty"] == "sql null"


def test_update_copies_a_json_null_from_another_column(rows):
    def write(rows):
        rows.filter(name__in=["key", "zero"]).update(data=F("other"))

    result = dict(write_and_compare(write))
    assert result["key"] == "json null"  # other holds a JSON null
    assert result["zero"] == "sql null"


def test_update_with_case(rows):
    def write(rows):
        rows.update(
            data=Case(
                When(data__isnull=True, then=JSONNull()),
                When(data=JSONNull(), then=Value({"was": "null"}, models.JSONField())),
                default=F("data"),
            )
        )

    result = dict(write_and_compare(write))
    assert result["sql null"] == SAVED_JSON_NULL
    assert result["json null"] == {"was": "null"}


def test_bulk_create_and_bulk_update(rows):
    def write(rows):
        rows.bulk_create(
            [
                Row(name="bulk json", data=JSONNull()),
                Row(name="bulk sql", data=None),
                Row(name="bulk value", data={"a": None}),
            ]
        )
        changed = list(rows.filter(name__in=["key", "zero", "json null"]))
        for row in changed:
            row.data = {"key": JSONNull(), "zero": None, "json null": [1]}[row.name]
        rows.bulk_update(changed, ["data"])

    result = dict(write_and_compare(write))
    assert result["bulk json"] == "json null"
    assert result["key"] == SAVED_JSON_NULL
    assert result["bulk sql"] == result["zero"] == "sql null"
    assert result["bulk value"] == {"a": None}
    assert result["json null"] == [1]


def test_save_reads_json_null_as_none(rows):
    for alias in (MONGO, SQLITE):
        row = Row(name="saved", data=JSONNull())
        row.save(using=alias)
        row.refresh_from_db()
        assert row.data is None
        assert Row.objects.using(alias).filter(pk=row.pk, data=JSONNull()).exists()
        row.data = None
        row.save(using=alias)
        assert Row.objects.using(alias).filter(pk=row.pk, data__isnull=True).exists()


@pytest.mark.django_db(databases=[MONGO], transaction=True)  # committed: read from outside
def test_stored_form_an_outside_reader_sees():
    """The column's JSON null is MaxKey, SQL NULL is null, a nested null stays null."""
    create_rows(MONGO)
    connection = connections[MONGO]
    connection.ensure_connection()
    collection = connection.connection.database[Row._meta.db_table]
    stored_values = {document["name"]: document["data"] for document in collection.find()}
    assert isinstance(stored_values["json null"], MaxKey)
    assert stored_values["sql null"] is None
    assert stored_values["key null"] == {"a": None}
    assert stored_values["array"] == [None, 1]
    assert collection.count_documents({"data": {"$type": "maxKey"}}) == 1
    # {"data": null} would also match [null, 1]: "$type": "array" tests the value itself.
    assert collection.count_documents({"data": {"$eq": None, "$not": {"$type": "array"}}}) == 1


@pytest.mark.django_db(databases=[MONGO], transaction=True)
def test_validator_accepts_the_json_null():
    """ENFORCE_SCHEMA's validator gives a JSONField no bsonType (any JSON value), so MaxKey
    passes it; the insert above ran under it."""
    connection = connections[MONGO]
    if not connection.enforce_schema:
        pytest.skip("the suite runs with DJANGO_MONGO_ENFORCE_SCHEMA=0: no validator")
    create_rows(MONGO)
    connection.ensure_connection()
    (options,) = connection.connection.database.list_collections(
        filter={"name": Row._meta.db_table}
    )
    schema = options["options"]["validator"]["$jsonSchema"]
    assert "bsonType" not in schema["properties"]["data"]
    assert Row.objects.using(MONGO).filter(data=JSONNull()).count() == 1


@pytest.mark.django_db(databases=[MONGO], transaction=True)
def test_dumpdata_and_loaddata():
    """Django's serializers write both nulls as null (on every backend) and load null as SQL
    NULL; reading a JSON null for dumpdata gives None, not MaxKey."""
    from django.core import serializers

    create_rows(MONGO)
    text = serializers.serialize("json", Row.objects.using(MONGO).all())
    fields = {item.object.name: item.object.data for item in serializers.deserialize("json", text)}
    assert fields["json null"] is None
    assert fields["key null"] == {"a": None}
    Row.objects.using(MONGO).all().delete()
    for item in serializers.deserialize("json", text, using=MONGO):
        item.save(using=MONGO)
    rows = Row.objects.using(MONGO)
    assert set(names(rows.filter(data__isnull=True))) == {"sql null", "json null"}
    assert rows.get(name="key null").data == {"a": None}


def test_an_encoder_writing_invalid_json_is_a_data_error():
    """As a SQL database's JSON column refuses text that is not JSON (Django's
    test_db_check_constraints)."""
    from django.db import DataError

    class Broken(json.JSONEncoder):
        def encode(self, o):
            return "{not json"

    with pytest.raises(DataError, match="invalid JSON"):
        connections[MONGO].ops.adapt_json_value({"a": 1}, Broken)
