"""Date and time transforms in the current time zone.

Datetimes are stored in UTC. Django's Extract/Trunc work on the wall-clock time of the active
time zone and expect truncated datetimes back as naive wall-clock values (``TruncBase``
re-attaches the zone). ``wall_clock`` turns a UTC instant into that wall-clock time (as a BSON
date whose UTC fields are the local ones); every transform then works on plain dates.
Times are stored as ``"HH:MM:SS.ffffff"`` strings (see operations.py).
"""

from __future__ import annotations

from django.conf import settings
from django.db import DataError, NotSupportedError

PART_NAMES = ("year", "month", "day", "hour", "minute", "second", "millisecond")

#: Trunc kinds -> $dateTrunc units.
TRUNC_UNITS = {
    "year": "year",
    "quarter": "quarter",
    "month": "month",
    "week": "week",
    "day": "day",
    "date": "day",
    "hour": "hour",
    "minute": "minute",
    "second": "second",
}
TIME_PARTS = {"hour": 0, "minute": 3, "second": 6}


def tzname_for(expression):
    if not settings.USE_TZ or not hasattr(expression, "get_tzname"):
        return None
    output = getattr(expression, "lhs", expression)
    source = getattr(output, "output_field", None)
    if source is not None and source.get_internal_type() != "DateTimeField":
        if getattr(expression, "tzinfo", None) is not None:
            # Django's own error (Extract.as_sql, TruncBase.as_sql).
            raise ValueError("tzinfo can only be used with DateTimeField.")
        return None
    tzname = expression.get_tzname()
    if tzname is not None and tzname.startswith(("UTC+", "UTC-")):
        # A fixed offset: Django names it "UTC+05:00", MongoDB's timezone takes "+05:00".
        tzname = tzname[3:]
    return None if tzname in (None, "UTC") else tzname


def wall_clock(date, tzname):
    if tzname is None:
        return date
    parts = {"$dateToParts": {"date": date, "timezone": tzname}}
    return {
        "$let": {
            "vars": {"p": parts},
            "in": {"$dateFromParts": {name: f"$$p.{name}" for name in PART_NAMES}},
        }
    }


def extract_from_time(kind, value):
    start = TIME_PARTS.get(kind)
    if start is None:
        raise NotSupportedError(f"Extract {kind!r} from a TimeField is not supported")
    return {
        "$cond": [
            {"$lte": [value, None]},
            None,
            {"$toInt": {"$substrCP": [value, start, 2]}},
        ]
    }


def trunc(expression, value):
    kind = expression.kind
    source_type = expression.lhs.output_field.get_internal_type()
    output_type = expression.output_field.get_internal_type()
    tzname = tzname_for(expression)
    if source_type == "TimeField" or kind == "time":
        if source_type == "TimeField":
            return _trunc_time_string(kind, value)
        return {"$dateToString": {"date": wall_clock(value, tzname), "format": "%H:%M:%S.%L000"}}
    unit = TRUNC_UNITS.get(kind)
    if unit is None:
        # PostgreSQL's date_trunc refuses a unit it does not know with a DataError.
        raise DataError(f"Trunc: the unit {kind!r} is not recognized")
    spec = {"date": wall_clock(value, tzname), "unit": unit}
    if unit == "week":
        spec["startOfWeek"] = "monday"
    truncated = {"$dateTrunc": spec}
    if output_type == "TimeField":
        return {"$dateToString": {"date": truncated, "format": "%H:%M:%S.%L000"}}
    return {"$cond": [{"$lte": [value, None]}, None, truncated]}


def _trunc_time_string(kind, value):
    keep = {"hour": 2, "minute": 5, "second": 8}.get(kind)
    if keep is None:
        raise NotSupportedError(f"Trunc {kind!r} of a TimeField is not supported")
    pad = "00:00:00.000000"[keep:]
    return {
        "$cond": [
            {"$lte": [value, None]},
            None,
            {"$concat": [{"$substrCP": [value, 0, keep]}, pad]},
        ]
    }
