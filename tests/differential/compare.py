"""Run one generated queryset on both aliases, normalise the results and classify the outcome."""

from __future__ import annotations

import datetime
import time
import traceback
import uuid
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

from bson import json_util
from bson.binary import UuidRepresentation
from bson.json_util import JSONMode, JSONOptions
from django.db import NotSupportedError
from django.db.models import Model

from .queries import evaluate, queryset_of

ORACLE = "sqlite"
MONGO = "default"


class Num(float):
    """A number compared to 9 significant digits (SQLite keeps decimals as REAL)."""

    def __new__(cls, value):
        rounded = float(f"{float(value):.9g}")
        return super().__new__(cls, 0.0 if rounded == 0 else rounded)

    def __repr__(self):
        return f"Num({float(self)!r})"


def normalize(value):
    if isinstance(value, Model):
        attrs = tuple(
            sorted(
                (key, normalize(item))
                for key, item in vars(value).items()
                if not key.startswith("_")
            )
        )
        related = tuple(
            sorted((key, normalize(item)) for key, item in value._state.fields_cache.items())
        )
        return (type(value).__name__, attrs, related)
    if isinstance(value, dict):
        return tuple(sorted((key, normalize(item)) for key, item in value.items()))
    if isinstance(value, list | tuple):
        return tuple(normalize(item) for item in value)
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int | float | Decimal):
        return Num(value)
    if isinstance(value, uuid.UUID):
        return ("uuid", str(value))
    if isinstance(value, datetime.datetime):
        return ("datetime", value.astimezone(datetime.UTC).isoformat())
    if isinstance(value, datetime.date):
        return ("date", value.isoformat())
    return value


def _sort_key(item):
    return repr(item)


@dataclass
class Stats:
    compared: int = 0
    mismatches: int = 0
    known: int = 0
    unsupported: int = 0
    both_raised: int = 0
    oracle_raised: int = 0
    by_kind: Counter = field(default_factory=Counter)
    unsupported_reasons: Counter = field(default_factory=Counter)
    known_reasons: Counter = field(default_factory=Counter)
    failures: list = field(default_factory=list)
    seconds: dict = field(default_factory=lambda: {ORACLE: 0.0, MONGO: 0.0})
    slowest: list = field(default_factory=list)


STATS = Stats()


def _run(source, alias):
    start = time.perf_counter()
    try:
        return evaluate(source, alias), None
    except Exception as exc:
        return None, exc
    finally:
        elapsed = time.perf_counter() - start
        STATS.seconds[alias] += elapsed
        if alias == MONGO:
            STATS.slowest = sorted([*STATS.slowest, (elapsed, source)], reverse=True)[:5]


_JSON = JSONOptions(json_mode=JSONMode.RELAXED, uuid_representation=UuidRepresentation.STANDARD)


def pipeline(source):
    """``str(qs.query)``: the compiled pipeline (rendered here if ``str()`` itself fails)."""
    try:
        queryset = queryset_of(source, MONGO)
    except Exception as exc:
        return f"<could not build the queryset: {exc!r}>"
    try:
        return str(queryset.query)
    except Exception as exc:
        failure = f"<str(qs.query) raised {exc!r}>"
    try:
        mql = queryset.query.get_compiler(MONGO).mql()
    except Exception as exc:
        return f"{failure} <could not compile: {exc!r}>"
    return f"{failure} {json_util.dumps(mql, json_options=_JSON, ensure_ascii=False)}"


@dataclass
class Outcome:
    source: str
    kind: str  # "equal", "mismatch", "unsupported", "both_raised", "oracle_raised"
    expected: object = None
    actual: object = None
    error: str = ""

    def report(self):
        return (
            f"queryset: {self.source}\n"
            f"sqlite:   {self.expected!r}\n"
            f"mongo:    {self.actual!r}{self.error}\n"
            f"pipeline: {pipeline(self.source)}"
        )


def compare(spec):
    """Run ``spec`` on both aliases; an Outcome (its kind says whether they agree)."""
    source = spec.source
    expected, oracle_error = _run(source, ORACLE)
    actual, mongo_error = _run(source, MONGO)
    if oracle_error is not None:
        if mongo_error is not None and type(mongo_error) is type(oracle_error):
            return Outcome(source, "both_raised", error=repr(mongo_error))
        if isinstance(mongo_error, NotSupportedError):
            return Outcome(source, "unsupported", error=str(mongo_error))
        if mongo_error is None and isinstance(oracle_error, NotSupportedError):
            return Outcome(source, "oracle_raised", error=repr(oracle_error))
        return Outcome(
            source,
            "mismatch",
            expected=f"<raised {oracle_error!r}>",
            actual=actual if mongo_error is None else f"<raised {mongo_error!r}>",
        )
    if mongo_error is not None:
        if isinstance(mongo_error, NotSupportedError):
            return Outcome(source, "unsupported", error=str(mongo_error))
        detail = "".join(traceback.format_exception_only(mongo_error)).strip()
        return Outcome(source, "mismatch", expected=expected, actual=f"<raised {detail}>")
    left, right = normalize(expected), normalize(actual)
    if not spec.ordered and isinstance(left, tuple) and isinstance(right, tuple):
        left, right = sorted(left, key=_sort_key), sorted(right, key=_sort_key)
    if left == right:
        return Outcome(source, "equal")
    return Outcome(source, "mismatch", expected=expected, actual=actual)
