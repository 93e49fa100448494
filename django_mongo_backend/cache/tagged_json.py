"""JSON that gives back the exact Python types: the cache's default serializer.

Plain JSON loses types (a tuple reads back as a list, a ``Decimal`` cannot be written at all),
and a cache must return what was stored. Here every value JSON cannot say exactly becomes a
*tag*, an object ``{"__type__": NAME, "value": PAYLOAD}``; a dict that is not a plain JSON
object (a key that is not a ``str``, or a key ``"__type__"``) is itself tagged as a list of
pairs, so every object with a ``"__type__"`` key is a tag and nothing else is.

Only the types in ``ENCODERS`` are written, checked by exact type (``type(x) is ...``): a
subclass (an ``IntEnum``, a ``TextChoices`` member, a user ``dict`` subclass) would come back
as its base class, so it is refused instead, and so is anything else (model instances,
functions...). Refusal is ``Unsupported``; the cache then uses pickle if the settings allow it
(``values.py``). Decoding only ever builds these types: no class is looked up by a name found
in the data, which is why this format is safe to read from a database others can write to.
"""

from __future__ import annotations

import base64
import datetime
import decimal
import json
import math
import uuid
import zoneinfo

from bson import ObjectId
from django.utils.safestring import SafeString

from . import responses

TAG = "__type__"
PAYLOAD = "value"


class Unsupported(TypeError):
    """The value (or a value inside it) has no exact JSON form here."""


def dumps(value, *, responses_as_data):
    """JSON text for ``value``. ``responses_as_data``: an ``HttpResponse`` subclass may be
    written as the response data the cache middleware needs (it reads back as ``HttpResponse``);
    otherwise only ``HttpResponse`` itself is."""
    encoder = _Encoder(responses_as_data)
    try:
        tree = encoder.encode(value)
        text = json.dumps(tree, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    except ValueError as error:  # an int longer than Python's int-to-text limit
        raise Unsupported(str(error)) from error
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: only escaped JSON carries it through BSON
        text = json.dumps(tree, ensure_ascii=True, allow_nan=False, separators=(",", ":"))
    return text


def loads(text):
    return json.loads(text, object_hook=_decode_object)


class _Encoder:
    def __init__(self, responses_as_data):
        self.responses_as_data = responses_as_data
        self.path = set()  # ids of the containers being encoded: a cycle has no JSON form

    def encode(self, value):
        kind = type(value)
        if value is None or kind is bool or kind is str or kind is int:
            return value
        if kind is float:
            return value if math.isfinite(value) else _tag("float", repr(value))
        if kind is list or kind is tuple or kind is dict or kind is set or kind is frozenset:
            return self._container(value, kind)
        encoder = ENCODERS.get(kind)
        if encoder is not None:
            return _tag(encoder[0], encoder[1](value))
        if responses.is_response(value) and (
            self.responses_as_data or responses.is_plain_response(value)
        ):
            return _tag("HttpResponse", responses.to_data(value, self.encode))
        raise Unsupported(f"{kind.__module__}.{kind.__qualname__}")

    def _container(self, value, kind):
        if id(value) in self.path:
            raise Unsupported("a container that contains itself")
        self.path.add(id(value))
        try:
            if kind is dict:
                if all(type(key) is str and key != TAG for key in value):
                    return {key: self.encode(item) for key, item in value.items()}
                return _tag("dict", [[self.encode(k), self.encode(v)] for k, v in value.items()])
            items = [self.encode(item) for item in value]
            return items if kind is list else _tag(kind.__name__, items)
        finally:
            self.path.discard(id(value))


def _tag(name, payload):
    return {TAG: name, PAYLOAD: payload}


def _tz_payload(tzinfo):
    """How a ``tzinfo`` is written: ``None``, a ``zoneinfo`` key, or a fixed offset."""
    if tzinfo is None:
        return None
    if type(tzinfo) is zoneinfo.ZoneInfo and tzinfo.key is not None:
        return {"zone": tzinfo.key}
    if type(tzinfo) is datetime.timezone:
        offset = tzinfo.utcoffset(None)
        name = tzinfo.tzname(None)
        payload = {"offset": [offset.days, offset.seconds, offset.microseconds]}
        if name != datetime.timezone(offset).tzname(None):
            payload["name"] = name
        return payload
    raise Unsupported(f"a time zone of type {type(tzinfo).__qualname__}")


def _tz_from(payload):
    if payload is None:
        return None
    if "zone" in payload:
        return zoneinfo.ZoneInfo(payload["zone"])
    offset = datetime.timedelta(*payload["offset"])
    if "name" in payload:
        return datetime.timezone(offset, payload["name"])
    return datetime.timezone(offset)


def _encode_datetime(value):
    # The wall time, its zone and fold: an offset alone would lose the zone.
    return {
        "wall": value.replace(tzinfo=None).isoformat(),
        "tz": _tz_payload(value.tzinfo),
        "fold": value.fold,
    }


def _decode_datetime(payload):
    wall = datetime.datetime.fromisoformat(payload["wall"])
    return wall.replace(tzinfo=_tz_from(payload["tz"]), fold=payload["fold"])


def _encode_time(value):
    return {
        "wall": value.replace(tzinfo=None).isoformat(),
        "tz": _tz_payload(value.tzinfo),
        "fold": value.fold,
    }


def _decode_time(payload):
    wall = datetime.time.fromisoformat(payload["wall"])
    return wall.replace(tzinfo=_tz_from(payload["tz"]), fold=payload["fold"])


def _b64(data):
    return base64.b64encode(data).decode("ascii")


#: Exact type -> (tag name, payload of a value).
ENCODERS = {
    bytes: ("bytes", _b64),
    bytearray: ("bytearray", _b64),
    decimal.Decimal: ("Decimal", str),  # str keeps every digit, the exponent and the sign
    uuid.UUID: ("UUID", lambda value: value.hex),
    datetime.datetime: ("datetime", _encode_datetime),
    datetime.date: ("date", lambda value: value.isoformat()),
    datetime.time: ("time", _encode_time),
    datetime.timedelta: (
        "timedelta",
        lambda value: [value.days, value.seconds, value.microseconds],
    ),
    ObjectId: ("ObjectId", str),
    SafeString: ("SafeString", str),  # what the {% cache %} tag and rendering produce
}

#: Tag name -> how its payload becomes the value again.
DECODERS = {
    "float": float,
    "tuple": tuple,
    "set": set,
    "frozenset": frozenset,
    "dict": dict,  # from [key, value] pairs
    "bytes": base64.b64decode,
    "bytearray": lambda text: bytearray(base64.b64decode(text)),
    "Decimal": decimal.Decimal,
    "UUID": lambda text: uuid.UUID(hex=text),
    "datetime": _decode_datetime,
    "date": datetime.date.fromisoformat,
    "time": _decode_time,
    "timedelta": lambda parts: datetime.timedelta(*parts),
    "ObjectId": ObjectId,
    "SafeString": SafeString,
    "HttpResponse": responses.from_data,
}


def _decode_object(obj):
    if TAG not in obj:
        return obj
    try:
        decoder = DECODERS[obj[TAG]]
    except KeyError:
        raise ValueError(f"unknown tag {obj[TAG]!r} in a cached value") from None
    return decoder(obj[PAYLOAD])
