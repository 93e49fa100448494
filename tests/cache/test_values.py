"""How MongoDBCache stores values: BSON where BSON keeps them exactly, tagged JSON otherwise,
pickle only when the settings ask for it. No server needed: a value is encoded, passed through
BSON as the collection would store it (with the cache's codec options), and decoded.
"""

from __future__ import annotations

import datetime
import decimal
import enum
import functools
import json
import math
import pickle
import uuid
import zoneinfo

import bson
import pytest
from bson import Binary, ObjectId
from django.http import HttpResponse, JsonResponse
from django.template import engines
from django.template.response import SimpleTemplateResponse
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy
from hypothesis import given, settings
from hypothesis import strategies as st

from django_mongo_backend.cache import signed_pickle, tagged_json, values
from django_mongo_backend.cache.store import CODEC_OPTIONS

KEY = ":1:key"
PARIS = zoneinfo.ZoneInfo("Europe/Paris")


def stored(value, serializer="json", key=KEY):
    """The document fields as the collection gives them back."""
    fields = values.encode(value, key, serializer)
    encoded = bson.encode({"_id": key, **fields}, codec_options=CODEC_OPTIONS)
    return bson.decode(encoded, codec_options=CODEC_OPTIONS)


def round_trip(value, serializer="json"):
    document = stored(value, serializer)
    result, ok = values.decode(document, KEY, "cache")
    assert ok
    return result


def assert_same(expected, actual):
    """Equal, and of the same types all the way down (a tuple is not a list, 1 is not 1.0)."""
    assert type(actual) is type(expected), (expected, actual)
    if isinstance(expected, float) and math.isnan(expected):
        assert math.isnan(actual)
        return
    if isinstance(expected, decimal.Decimal):
        assert str(actual) == str(expected)  # digits, exponent, sign, NaN
        return
    if isinstance(expected, list | tuple):
        assert len(actual) == len(expected)
        for left, right in zip(expected, actual, strict=True):
            assert_same(left, right)
    elif isinstance(expected, dict):
        assert list(actual) == list(expected)
        for name in expected:
            assert type(next(k for k in actual if k == name)) is type(name)
            assert_same(expected[name], actual[name])
    elif isinstance(expected, datetime.datetime | datetime.time):
        assert actual == expected
        assert actual.tzinfo == expected.tzinfo
        assert actual.fold == expected.fold
        if expected.tzinfo is not None:
            assert type(actual.tzinfo) is type(expected.tzinfo)
            assert actual.tzname() == expected.tzname()
    else:
        assert actual == expected


NATIVE = [
    None,
    True,
    0,
    -(2**31),
    2**31,
    2**63 - 1,
    -(2**63),
    1.5,
    -0.0,
    float("inf"),
    float("nan"),
    "",
    "Iñtërnâtiônàlizætiøn \x00 nul",
    b"\x00\xffbytes",
    uuid.UUID("12345678-1234-5678-1234-567812345678"),
    ObjectId("65a1b2c3d4e5f60718293a4b"),
    datetime.datetime(2024, 2, 29, 12, 30, 15, 123000),
    [],
    [1, "two", [3.0, None]],
    {},
    {"a": 1, "nested": {"list": [True, b"x"]}, "": "empty key"},
    {"__type__": "tuple", "value": [1, 2]},  # BSON has no tags: just a dict
]

TAGGED = [
    2**63,
    -(2**63) - 1,
    10**40,
    (),
    (1, (2, [3])),
    {1: "int key", (1, 2): "tuple key"},
    {"$gt": 1},
    {"a.b": 1},
    {"$set": {"x": 1}},
    {"nested": (1, 2)},
    [1, (2,)],
    {1, 2, 3},
    frozenset({"a"}),
    set(),
    bytearray(b"mutable"),
    decimal.Decimal("1.10"),
    decimal.Decimal("-0"),
    decimal.Decimal("NaN"),
    decimal.Decimal("1E+400"),
    datetime.datetime(2024, 2, 29, 12, 30, 15, 123456),
    datetime.datetime(2024, 2, 29, 12, 30, 15, tzinfo=datetime.UTC),
    datetime.datetime(2024, 2, 29, 12, 30, tzinfo=datetime.timezone(datetime.timedelta(hours=5))),
    datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone(datetime.timedelta(hours=-3), "BRT")),
    datetime.datetime(2024, 10, 27, 2, 30, tzinfo=PARIS),
    datetime.datetime(2024, 10, 27, 2, 30, fold=1, tzinfo=PARIS),
    datetime.date(2024, 2, 29),
    datetime.time(23, 59, 59, 999999),
    datetime.time(8, 0, tzinfo=datetime.UTC),
    datetime.timedelta(days=-1, seconds=5, microseconds=7),
    mark_safe("<b>safe</b>"),
    "lone surrogate \ud800",
    {"key": "lone surrogate \udfff"},
    [
        {
            "deep": [
                [
                    [
                        [
                            [
                                [
                                    [
                                        [
                                            [
                                                [
                                                    [
                                                        [
                                                            [
                                                                [
                                                                    [
                                                                        [
                                                                            [
                                                                                [
                                                                                    [
                                                                                        [
                                                                                            [
                                                                                                [
                                                                                                    [
                                                                                                        [
                                                                                                            [
                                                                                                                [
                                                                                                                    [
                                                                                                                        [
                                                                                                                            [
                                                                                                                                [
                                                                                                                                    [
                                                                                                                                        [
                                                                                                                                            [
                                                                                                                                                [
                                                                                                                                                    [
                                                                                                                                                        [
                                                                                                                                                            [
                                                                                                                                                                [
                                                                                                                                                                    [
                                                                                                                                                                        [
                                                                                                                                                                            [
                                                                                                                                                                                [
                                                                                                                                                                                    [
                                                                                                                                                                                        [
                                                                                                                                                                                            [
                                                                                                                                                                                                [
                                                                                                                                                                                                    [
                                                                                                                                                                                                        [
                                                                                                                                                                                                            [
                                                                                                                                                                                                                [
                                                                                                                                                                                                                    [
                                                                                                                                                                                                                        1
                                                                                                                                                                                                                    ]
                                                                                                                                                                                                                ]
                                                                                                                                                                                                            ]
                                                                                                                                                                                                        ]
                                                                                                                                                                                                    ]
                                                                                                                                                                                                ]
                                                                                                                                                                                            ]
                                                                                                                                                                                        ]
                                                                                                                                                                                    ]
                                                                                                                                                                                ]
                                                                                                                                                                            ]
                                                                                                                                                                        ]
                                                                                                                                                                    ]
                                                                                                                                                                ]
                                                                                                                                                            ]
                                                                                                                                                        ]
                                                                                                                                                    ]
                                                                                                                                                ]
                                                                                                                                            ]
                                                                                                                                        ]
                                                                                                                                    ]
                                                                                                                                ]
                                                                                                                            ]
                                                                                                                        ]
                                                                                                                    ]
                                                                                                                ]
                                                                                                            ]
                                                                                                        ]
                                                                                                    ]
                                                                                                ]
                                                                                            ]
                                                                                        ]
                                                                                    ]
                                                                                ]
                                                                            ]
                                                                        ]
                                                                    ]
                                                                ]
                                                            ]
                                                        ]
                                                    ]
                                                ]
                                            ]
                                        ]
                                    ]
                                ]
                            ]
                        ]
                    ]
                ]
            ]
        }
    ],
]


@pytest.mark.parametrize("value", NATIVE, ids=repr)
def test_bson_values_are_stored_as_they_are(value):
    document = stored(value)
    assert "format" not in document
    assert_same(value, round_trip(value))


@pytest.mark.parametrize("value", TAGGED, ids=lambda value: repr(value)[:60])
def test_other_data_is_tagged_json_and_keeps_its_types(value):
    document = stored(value)
    assert document["format"] == "json"
    assert type(document["value"]) is str
    json.loads(document["value"])  # standard JSON: no NaN, no binary
    assert_same(value, round_trip(value))


def test_an_int64_reads_back_as_int_not_bson_int64():
    value = {"big": 2**40, "list": [2**40]}
    result = round_trip(value)
    assert type(result["big"]) is int
    assert type(result["list"][0]) is int
    assert type(stored(2**40)["value"]) is bson.Int64  # what pymongo alone would return


def test_the_json_of_a_tuple_reads_as_data():
    document = stored((1, "a"))
    assert json.loads(document["value"]) == {"__type__": "tuple", "value": [1, "a"]}


def test_a_dict_with_a_tag_key_is_written_as_pairs():
    value = {"__type__": "HttpResponse", "value": (200,)}
    text = stored(value)["value"]
    assert json.loads(text) == {
        "__type__": "dict",
        "value": [["__type__", "HttpResponse"], ["value", {"__type__": "tuple", "value": [200]}]],
    }
    assert_same(value, round_trip(value))


class Color(enum.IntEnum):
    RED = 1


class Text(str):
    pass


def some_function():
    return 42


class Plain:
    pass


REFUSED = {
    "a function": some_function,
    "a class": Plain,
    "an object": Plain(),
    "an IntEnum member": Color.RED,
    "a str subclass": Text("x"),
    "a lazy translation": gettext_lazy("Hello"),
    "a partial": functools.partial(int, "1"),
    "an object in a list": [1, Plain()],
    "a pytz-like time zone": datetime.datetime(
        2024, 1, 1, tzinfo=type("TZ", (datetime.tzinfo,), {})()
    ),
}


@pytest.mark.parametrize("value", list(REFUSED.values()), ids=list(REFUSED))
def test_without_pickle_other_objects_are_refused_naming_the_setting(value):
    with pytest.raises(values.UnsupportedValue, match="SERIALIZER") as raised:
        values.encode(value, KEY, "json")
    assert isinstance(raised.value, TypeError)


def test_a_model_instance_is_refused_without_pickle():
    from django.contrib.auth.models import Group

    with pytest.raises(TypeError, match="SERIALIZER"):
        values.encode(Group(name="editors"), KEY, "json")


def test_a_cycle_is_refused_without_pickle_and_kept_with_it():
    cycle = []
    cycle.append(cycle)
    with pytest.raises(values.UnsupportedValue):
        values.encode(cycle, KEY, "json")
    result = round_trip(cycle, "pickle")
    assert result[0] is result


def test_with_pickle_json_still_takes_what_it_can_and_pickle_the_rest():
    assert stored((1, 2), "pickle")["format"] == "json"
    assert "format" not in stored([1, 2], "pickle")
    document = stored(Color.RED, "pickle")
    assert document["format"] == "pickle"
    assert type(document["value"]) is bytes
    assert len(document["signature"]) == 64
    assert_same(Color.RED, round_trip(Color.RED, "pickle"))
    assert round_trip(some_function, "pickle") is some_function


class Tripwire:
    """Unpickling it calls ``tripped``: what an attacker's pickle would do."""

    calls = []

    def __reduce__(self):
        return (Tripwire.tripped, ())

    @staticmethod
    def tripped():
        Tripwire.calls.append(1)
        return "ran"


def test_a_pickle_not_signed_with_the_secret_key_is_never_unpickled(caplog):
    Tripwire.calls.clear()
    document = stored(Color.RED, "pickle")
    document["value"] = pickle.dumps(Tripwire())
    value, ok = values.decode(document, KEY, "cache")
    assert (value, ok) == (None, False)
    assert Tripwire.calls == []
    assert "signature does not match" in caplog.text
    # The same bytes, signed with the key, would run: the check is what stands in between.
    data, signature = signed_pickle.dumps(Tripwire(), KEY)
    assert values.decode({"value": data, "format": "pickle", "signature": signature}, KEY, "c") == (
        "ran",
        True,
    )
    assert Tripwire.calls == [1]


def test_a_signed_pickle_moved_to_another_key_is_refused():
    document = stored(Color.RED, "pickle", key=":1:a")
    assert values.decode(document, ":1:a", "cache") == (Color.RED, True)
    assert values.decode(document, ":1:b", "cache") == (None, False)


def test_a_pickle_without_a_signature_is_refused():
    document = {"value": Binary(pickle.dumps(Tripwire())), "format": "pickle"}
    Tripwire.calls.clear()
    assert values.decode(document, KEY, "cache") == (None, False)
    assert Tripwire.calls == []


def test_signatures_made_with_a_fallback_key_are_accepted(settings):
    settings.SECRET_KEY = "old-key"
    document = stored(Color.RED, "pickle")
    settings.SECRET_KEY = "new-key"
    assert values.decode(document, KEY, "cache") == (None, False)
    settings.SECRET_KEY_FALLBACKS = ["old-key"]
    assert values.decode(document, KEY, "cache") == (Color.RED, True)


def test_json_decoding_builds_no_class_named_by_the_data():
    with pytest.raises(ValueError, match="unknown tag"):
        tagged_json.loads('{"__type__": "os.system", "value": "echo hi"}')


# -- HttpResponse (what cache_page stores) ---------------------------------------------------------


def make_response():
    response = HttpResponse("héllo", status=203, reason="Custom", charset="utf-8")
    response["X-Thing"] = "1"
    response.set_cookie("session", "abc", max_age=60, httponly=True, samesite="Lax")
    response.set_cookie("plain", "v")
    return response


def test_an_http_response_comes_back_with_status_headers_cookies_and_content():
    response = make_response()
    result = round_trip(response)
    assert type(result) is HttpResponse
    assert result.status_code == 203
    assert result.reason_phrase == "Custom"
    assert result.content == response.content
    assert list(result.headers.items()) == list(response.headers.items())
    assert result.cookies == response.cookies
    assert result.cookies["session"]["httponly"] is True
    assert result.cookies["session"].output() == response.cookies["session"].output()


def test_a_binary_response_body_is_kept_byte_for_byte():
    response = HttpResponse(b"\xff\xfe\x00binary", content_type="application/octet-stream")
    assert round_trip(response).content == b"\xff\xfe\x00binary"


def test_response_subclasses_read_back_as_http_response_without_pickle():
    json_response = JsonResponse({"a": 1})
    result = round_trip(json_response)
    assert type(result) is HttpResponse
    assert result["Content-Type"] == "application/json"
    assert result.content == b'{"a": 1}'
    template = engines["django"].from_string("Hi {{ name }}")
    rendered = SimpleTemplateResponse(template, {"name": "there"}).render()
    assert round_trip(rendered).content == b"Hi there"


def test_with_pickle_a_response_subclass_keeps_its_class():
    template = engines["django"].from_string("Hi")
    rendered = SimpleTemplateResponse(template).render()
    assert stored(rendered, "pickle")["format"] == "pickle"
    assert type(round_trip(rendered, "pickle")) is SimpleTemplateResponse
    assert stored(HttpResponse("x"), "pickle")["format"] == "json"


def test_safe_strings_stay_safe():
    result = round_trip(SafeString("<i>x</i>"))
    assert type(result) is SafeString


# -- any data, generated -------------------------------------------------------------------------

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(),
    st.binary(max_size=20),
    st.decimals(allow_nan=False),
    st.uuids(),
    st.datetimes(),
    st.datetimes(timezones=st.timezones()),
    st.dates(),
    st.times(),
    st.timedeltas(),
)
hashables = st.recursive(scalars, lambda inner: st.tuples(inner, inner) | st.frozensets(inner))
data_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(st.text(max_size=5), inner, max_size=4)
        | st.dictionaries(hashables, inner, max_size=3)
        | st.frozensets(hashables, max_size=3)
    ),
    max_leaves=12,
)


@pytest.mark.filterwarnings("ignore:Generating overly large repr")  # the strategy's own repr
@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(data_values)
def test_generated_data_reads_back_with_exact_types(value):
    assert_same(value, round_trip(value))
