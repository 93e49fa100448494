"""Database functions (compiler/functions.py, the ``FUNCTIONS`` table): each one's operator
and SQL's NULL in, NULL out.
"""

from __future__ import annotations

import django
import pytest
from django.db.models import (
    CharField,
    F,
    Value,
)
from django.db.models.functions import (
    Cast,
    Concat,
    JSONObject,
    Length,
    Lower,
    Replace,
    Reverse,
    TruncDate,
    Upper,
)

from tests.compiler.golden import joined, pipeline
from tests.testapp.models import AllTypes, Author, Book

pytestmark = pytest.mark.django_db


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
    assert pipeline(
        Author.objects.filter(name="Ann")
        .annotate(
            low=Lower("name"),
            size=Length("name"),
            label=Concat("name", Value(" <"), "email", Value(">"), output_field=CharField()),
        )
        .values("low", "size", "label")
    ) == [
        {"$match": {"name": {"$eq": "Ann"}}},
        {
            "$addFields": {
                # name is never null: LOWER/LENGTH need no NULL test.
                "__c0": {"$toLower": "$name"},
                "__c1": {"$strLenCP": "$name"},
                "__c2": {
                    "$concat": [
                        {"$ifNull": ["$name", ""]},
                        {"$ifNull": [{"$literal": " <"}, ""]},
                        {"$ifNull": ["$email", ""]},
                        {"$ifNull": [{"$literal": ">"}, ""]},
                    ]
                },
            }
        },
        {"$sort": {"name": 1}},
        {"$project": {"__c0": 1, "__c1": 1, "__c2": 1}},
    ]


def test_text_functions_of_a_nullable_column_are_null_for_null():
    """``$toLower`` turns null into "" and ``$strLenCP`` refuses it; SQL gives NULL. The test
    is on the column alone (one ``$lte``), and on no argument known never to be null."""
    AllTypes.objects.create(char=None)
    AllTypes.objects.create(char="Ab")
    rows = AllTypes.objects.annotate(low=Lower("char"), size=Length("char"), tag=Lower(Value("X")))
    assert sorted(rows.values_list("low", "size", "tag"), key=str) == [
        ("ab", 2, "x"),
        (None, None, "x"),
    ]
    assert pipeline(rows.values_list("low", "tag"))[0] == {
        "$addFields": {
            "__c0": {"$cond": [{"$lte": ["$char", None]}, None, {"$toLower": "$char"}]},
            "__c1": {"$toLower": {"$literal": "X"}},
        }
    }


def test_lower_and_upper_fold_ascii_letters_only(accents):
    """MongoDB's $toLower/$toUpper change ASCII letters only (manual: "$toLower only has a
    well-defined behavior for strings of ASCII characters"), as SQLite's lower()/upper():
    documented, not emulated."""
    rows = Author.objects.annotate(lo=Lower("name"), up=Upper("name")).order_by("age")
    assert list(rows.values_list("lo", "up")) == [("Élan", "ÉLAN"), ("élan", "éLAN")]
    assert pipeline(
        Author.objects.annotate(low=Lower("name"), up=Upper("name")).values_list("low", "up")
    ) == [
        {
            "$addFields": {
                "__c0": {"$toLower": "$name"},
                "__c1": {"$toUpper": "$name"},
            }
        },
        {"$sort": {"name": 1}},
        {"$project": {"__c0": 1, "__c1": 1}},
    ]


def test_reverse_reverses_characters_and_gives_null_for_null():
    """SQL's REVERSE reverses characters, not bytes; REVERSE('') is '' and REVERSE(NULL) is
    NULL. MongoDB has no string reverse: a ``$reduce`` over the code points (``$substrCP``
    counts code points), guarded since ``$strLenCP`` of null is an error (MongoDB manual,
    $strLenCP: "If the argument resolves to a value of null or refers to a missing field,
    $strLenCP returns an error")."""
    for char in ("Ann", "çafé 寿司😀", "", None):
        AllTypes.objects.create(char=char)
    rows = AllTypes.objects.annotate(r=Reverse("char")).values_list("char", "r")
    assert sorted(rows, key=str) == [
        ("", ""),
        ("Ann", "nnA"),
        ("çafé 寿司😀", "😀司寿 éfaç"),
        (None, None),
    ]
    assert AllTypes.objects.filter(char=Reverse("char")).get().char == ""
    # Author.name cannot be NULL, so no guard (AllTypes.char above is nullable and keeps one).
    assert pipeline(Author.objects.annotate(r=Reverse("name")).values_list("r", flat=True)) == [
        {
            "$addFields": {
                "__c0": {
                    "$let": {
                        "vars": {"string": "$name"},
                        "in": {
                            "$reduce": {
                                "input": {"$range": [0, {"$strLenCP": "$$string"}]},
                                "initialValue": "",
                                "in": {
                                    "$concat": [
                                        {"$substrCP": ["$$string", "$$this", 1]},
                                        "$$value",
                                    ]
                                },
                            }
                        },
                    }
                }
            }
        },
        {"$sort": {"name": 1}},
        {"$project": {"__c0": 1}},
    ]


def test_replace_with_an_empty_search_string_returns_the_input():
    """SQL's REPLACE(x, '', y) is x (SQLite, PostgreSQL); MongoDB's $replaceAll with
    ``find: ""`` puts the replacement at every position ("albatross" -> "_a_l_b_..."). A
    constant empty search compiles to the input itself; a search read from the row hands
    $replaceAll an empty replacement when it is empty. NULL in any argument stays NULL."""
    for char, text in (("Zoë", ""), ("abcb", "b"), (None, ""), ("ab", None)):
        AllTypes.objects.create(char=char, text=text)
    rows = AllTypes.objects.annotate(
        constant=Replace("char", Value("")),
        constant_to=Replace("char", Value(""), Value("_")),
        column=Replace("char", "text", Value("_"), output_field=CharField()),
        null_replacement=Replace("char", "text", Value(None), output_field=CharField()),
    ).values_list("char", "constant", "constant_to", "column", "null_replacement")
    assert sorted(rows, key=str) == [
        ("Zoë", "Zoë", "Zoë", "Zoë", None),
        ("ab", "ab", "ab", None, None),
        ("abcb", "abcb", "abcb", "a_c_", None),
        (None, None, None, None, None),
    ]
    assert pipeline(
        AllTypes.objects.annotate(
            constant=Replace("char", Value(""), Value("_")),
            column=Replace("char", "text", Value("_"), output_field=CharField()),
        ).values_list("constant", "column")
    ) == [
        {
            "$addFields": {
                "__c0": "$char",
                "__c1": {
                    "$replaceAll": {
                        "input": "$char",
                        "find": "$text",
                        "replacement": {"$cond": [{"$eq": ["$text", ""]}, "", {"$literal": "_"}]},
                    }
                },
            }
        },
        {"$project": {"__c0": 1, "__c1": 1}},
    ]
    # A non-empty constant search is $replaceAll as it is.
    assert pipeline(Author.objects.annotate(r=Replace("name", Value("n"))).values("r")) == [
        {
            "$addFields": {
                "__c0": {
                    "$replaceAll": {
                        "input": "$name",
                        "find": {"$literal": "n"},
                        "replacement": {"$literal": ""},
                    }
                }
            }
        },
        {"$sort": {"name": 1}},
        {"$project": {"__c0": 1}},
    ]


def test_concat_turns_null_into_an_empty_string():
    AllTypes.objects.create(char=None, text="t")
    queryset = AllTypes.objects.annotate(
        joined=Concat(Value("a"), "char", Value("b"), "text", output_field=CharField())
    )
    assert queryset.values_list("joined", flat=True).get() == "abt"
    assert pipeline(
        Author.objects.annotate(
            label=Concat("name", Value("/"), Cast("age", CharField()))
        ).values_list("label", flat=True)
    ) == [
        {
            "$addFields": {
                "__c0": {
                    "$concat": [
                        {"$ifNull": ["$name", ""]},
                        {"$ifNull": [{"$literal": "/"}, ""]},
                        {"$ifNull": [{"$toString": "$age"}, ""]},
                    ]
                }
            }
        },
        {"$sort": {"name": 1}},
        {"$project": {"__c0": 1}},
    ]


def test_cast_of_a_date_to_text_is_the_date_as_sql_writes_it(library):
    """A date is a BSON date at midnight: its text is "YYYY-MM-DD" (SQL's), not $toString's ISO
    datetime; NULL stays NULL. django-import-export exports Cast(TruncDate(...), CharField())."""
    queryset = Book.objects.order_by("title").annotate(
        day=Cast("published", CharField()),
        truncated=Cast(TruncDate("published"), CharField()),
    )
    rows = {
        title: (day, truncated)
        for title, day, truncated in queryset.values_list("title", "day", "truncated")
    }
    assert rows["Gamma"] == ("2020-05-01", "2020-05-01")
    assert rows["Alpha"] == (None, None)
    assert pipeline(
        Book.objects.annotate(day=Cast("published", CharField())).values_list("day", flat=True)
    ) == [
        {"$addFields": {"__c0": {"$dateToString": {"date": "$published", "format": "%Y-%m-%d"}}}},
        {"$project": {"__c0": 1}},
    ]


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
    assert one(fn.LPad("name", 6, Value("xy"))) == "xyxAnn"
    assert one(fn.RPad("name", 5)) == "Ann  "
    assert one(fn.LPad("name", 2)) == "An"  # cut, as SQL's LPAD does
    assert one(fn.LPad("email", 3, Value("-"))) == "---"
    assert one(fn.JSONObject(n="name", a="age", **{"$where": Value(1)})) == {
        "n": "Ann",
        "a": 30,
        "$where": 1,
    }
    assert pipeline(
        Author.objects.filter(name="Ann").annotate(v=fn.Round(F("age"))).values_list("v", flat=True)
    ) == [
        {"$match": {"name": {"$eq": "Ann"}}},
        {
            "$addFields": {
                "__c0": {
                    "$cond": [
                        {"$lte": ["$age", None]},
                        None,
                        {"$round": ["$age", {"$literal": 0}]},
                    ]
                }
            }
        },
        {"$sort": {"name": 1}},
        {"$project": {"__c0": 1}},
    ]


def test_json_object_of_a_column_an_outer_join_left_missing(orphans):
    """``{k: "x", v: "$editor.name"}`` loses ``v`` when ``editor`` is missing, and
    ``$arrayToObject`` then fails with code 40392 (MongoDB manual, $arrayToObject: each
    document must have a ``k`` and a ``v`` field). SQL gives ``{"editor": null}``."""
    rows = Book.objects.annotate(j=JSONObject(editor=F("editor__name"), n=F("pages")))
    assert sorted(rows.values_list("title", "j")) == [
        ("By Bob", {"editor": "Bob", "n": 4}),
        ("Edited", {"editor": "Ann", "n": 3}),
        ("First", {"editor": None, "n": 1}),
        ("Second", {"editor": None, "n": 2}),
    ]
    assert pipeline(
        Book.objects.annotate(j=JSONObject(age="editor__age")).values_list("title", "j")
    ) == [
        *joined("testapp_author", "editor_id", outer=True),
        {
            "$addFields": {
                "__c1": {
                    "$arrayToObject": [
                        [
                            {
                                "k": {"$literal": "age"},
                                "v": {"$ifNull": ["$testapp_author.age", None]},
                            }
                        ]
                    ]
                }
            }
        },
        {"$project": {"__c1": 1, "title": 1}},
    ]


@pytest.mark.parametrize("name", ["MD5", "SHA1", "SHA256", "SHA512", "Chr", "Ord", "UUID4"])
def test_functions_mongodb_lacks_are_refused_saying_why(name):
    """No hash, code-point or UUID-generating operator exists in MongoDB 7.0's aggregation
    ("Aggregation Operators" in the manual); UUID4/UUID7 (Django 6) start with Django's own
    message for a backend without ``supports_uuid4_function``, which its test suite checks."""
    from django.db import NotSupportedError
    from django.db.models import functions

    function = getattr(functions, name, None)
    if function is None:
        assert name == "UUID4" and django.VERSION < (6,), name
        return
    expression = function() if name == "UUID4" else function("name")
    with pytest.raises(NotSupportedError) as raised:
        list(Author.objects.annotate(v=expression).values_list("v", flat=True))
    message = str(raised.value)
    assert "yet" not in message
    expected = "UUID4 is not supported on this database backend." if name == "UUID4" else name
    assert message.startswith(expected), message


def test_round_takes_a_half_of_an_integer_or_decimal_away_from_zero():
    """SQLite's ROUND and PostgreSQL's round(numeric) round a half away from zero:
    ROUND(365, -1) = 370, ROUND(-2.5) = -3 (Django's db_functions test_round expects 370
    unless features.rounds_to_even). MongoDB's $round goes to the even neighbour ("Rounding
    to Even Values"), so a value exactly halfway is moved off the tie first; a float keeps
    half-to-even, as PostgreSQL's round(double precision)."""
    from decimal import Decimal

    from django.db.models.functions import Round

    from tests.testapp.models import AllTypes

    rows = [(365, "2.5", 2.5), (-365, "-2.5", -2.5), (364, "0.125", 0.5), (355, "-0.135", 1.5)]
    for big, number, floating in rows:
        AllTypes.objects.create(big=big, decimal=Decimal(number), floating=floating)
    AllTypes.objects.create()

    def rounded(expression):
        values = AllTypes.objects.order_by("pk").annotate(v=expression)
        return list(values.values_list("v", flat=True))

    assert rounded(Round("big", -1)) == [370, -370, 360, 360, None]
    assert rounded(Round("big", -2)) == [400, -400, 400, 400, None]
    assert rounded(Round("big")) == [365, -365, 364, 355, None]
    assert rounded(Round("decimal")) == [3, -3, 0, 0, None]
    assert rounded(Round("decimal", 2)) == [
        Decimal("2.5"),
        Decimal("-2.5"),
        Decimal("0.13"),
        Decimal("-0.14"),
        None,
    ]
    assert rounded(Round("floating")) == [2.0, -2.0, 0.0, 2.0, None]


def test_casts_follow_the_target_fields_parameters():
    """CAST as PostgreSQL does it: to varchar(n) keeps n characters, to numeric(m, d) rounds
    to d places (a half away from zero), a datetime to a date or a time in the connection's
    zone (UTC), a ForeignKey to its target's type (Django's cast_db_type), a duration to a
    duration."""
    import datetime
    from decimal import Decimal

    from django.db import models
    from django.db.models.functions import Cast

    from tests.testapp.models import AllTypes

    moment = datetime.datetime(2018, 9, 28, 23, 42, 10, 234000, tzinfo=datetime.UTC)
    AllTypes.objects.create(
        char="Bobby",
        floating=-1.935,
        decimal=Decimal("2.345"),
        moment=moment,
        duration=datetime.timedelta(days=-1, microseconds=3),
    )
    AllTypes.objects.create()

    def cast(source, field):
        values = AllTypes.objects.order_by("pk").annotate(v=Cast(source, field))
        return list(values.values_list("v", flat=True))

    assert cast("char", models.CharField(max_length=3)) == ["Bob", None]
    assert cast("decimal", models.DecimalField(max_digits=5, decimal_places=2)) == [
        Decimal("2.35"),
        None,
    ]
    assert cast("floating", models.DecimalField(max_digits=5, decimal_places=1)) == [
        Decimal("-1.9"),
        None,
    ]
    assert cast("moment", models.DateField()) == [datetime.date(2018, 9, 28), None]
    assert cast("moment", models.TimeField()) == [datetime.time(23, 42, 10, 234000), None]
    assert cast("duration", models.DurationField()) == [
        datetime.timedelta(days=-1, microseconds=3),
        None,
    ]
    assert cast(models.Value("7"), models.ForeignKey(Author, models.CASCADE)) == [7, 7]


def test_concat_reads_numbers_and_dates_as_their_text(library):
    """SQL concatenates a non-text value by its text (PostgreSQL casts it, SQLite's || reads
    it as text; Django's test_concat_non_str); $concat takes strings only (16702)."""
    from django.db.models import TextField

    rows = Author.objects.order_by("name").annotate(
        v=Concat("name", Value(":"), "age", output_field=TextField())
    )
    assert list(rows.values_list("v", flat=True)) == ["Ann:30", "Bob:", "Cy:45"]
    dated = Book.objects.filter(published__isnull=False).annotate(
        v=Concat("title", Value(" "), "published", Value(" "), "price", output_field=TextField())
    )
    assert list(dated.values_list("v", flat=True)) == ["Gamma 2020-05-01 "]


def test_concat_of_numbers_is_their_text(library):
    """SQL's ``||`` (and PostgreSQL's ConcatPair, which casts each value to text) writes a
    number as its text; ``$concat`` refuses anything but strings (code 16702). NULL is ''."""
    rows = (
        Book.objects.annotate(
            label=Concat(
                "title", Value("/"), "pages", Value("/"), "author", output_field=CharField()
            )
        )
        .order_by("title")
        .values_list("label", flat=True)
    )
    ids = {book.title: book.author_id for book in Book.objects.all()}
    assert list(rows) == [
        f"Alpha/100/{ids['Alpha']}",
        f"Delta/300/{ids['Delta']}",
        f"Gamma/10/{ids['Gamma']}",
        f"beta/50/{ids['beta']}",
    ]
    ages = Author.objects.annotate(label=Concat("name", "age", output_field=CharField())).order_by(
        "name"
    )
    assert list(ages.values_list("label", flat=True)) == ["Ann30", "Bob", "Cy45"]


def test_a_uuid_cast_to_a_uuid_is_itself_and_text_to_a_uuid_is_refused():
    """A GeneratedField of Cast("field", UUIDField()) (Django's model_fields) reads the UUID
    as stored; text to UUID needs $convert to binData, which MongoDB 7.0 lacks."""
    import uuid

    from django.db import NotSupportedError, models

    from tests.testapp.models import AllTypes

    value = uuid.UUID("12345678-1234-5678-1234-567812345678")
    AllTypes.objects.create(uid=value, char=str(value))
    rows = AllTypes.objects.annotate(v=Cast("uid", models.UUIDField()))
    assert list(rows.values_list("v", flat=True)) == [value]
    with pytest.raises(NotSupportedError, match="CharField to UUIDField"):
        list(AllTypes.objects.annotate(v=Cast("char", models.UUIDField())).values_list("v"))
