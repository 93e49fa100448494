"""Generated querysets run on SQLite (the oracle) and on MongoDB must return the same rows.

See conftest.py for the example budget and queries.py for what is generated. A mismatch is
shrunk by hypothesis and reported with the queryset, both results and the pipeline; keep it in
test_regressions.py.
"""

from __future__ import annotations

import json
import os

import pytest
from hypothesis import given

from . import queries
from .compare import STATS, compare, pipeline
from .conftest import DB, budget
from .known import known_cause

#: DIFFERENTIAL_COLLECT=path: record every mismatch (JSON lines) instead of failing, to survey.
COLLECT = os.environ.get("DIFFERENTIAL_COLLECT")

pytestmark = [
    pytest.mark.django_db(**DB),
    pytest.mark.usefixtures("differential_data"),
]


def check(spec):
    outcome = compare(spec)
    STATS.compared += 1
    STATS.by_kind[outcome.kind] += 1
    if outcome.kind == "unsupported":
        STATS.unsupported += 1
        STATS.unsupported_reasons[outcome.error] += 1
    elif outcome.kind == "both_raised":
        STATS.both_raised += 1
    elif outcome.kind == "oracle_raised":
        STATS.oracle_raised += 1
    elif outcome.kind == "mismatch":
        cause = known_cause(spec.source, pipeline(spec.source))
        if cause is not None:
            STATS.known += 1
            STATS.known_reasons[cause] += 1
            return
        STATS.mismatches += 1
        report = outcome.report()
        STATS.failures.append(report)
        if COLLECT:
            with open(COLLECT, "a") as out:
                out.write(json.dumps({"source": spec.source, "report": report}) + "\n")
            return
        pytest.fail(report, pytrace=False)


@budget(0.3)
@given(queries.row_querysets())
def test_rows(spec):
    check(spec)


@budget(0.25)
@given(queries.values_querysets())
def test_values(spec):
    check(spec)


@budget(0.2)
@given(queries.grouped_querysets())
def test_grouped(spec):
    check(spec)


@budget(0.25)
@given(queries.scalar_querysets())
def test_scalars(spec):
    check(spec)


@budget(0.15)
@given(queries.window_querysets())
def test_windows(spec):
    check(spec)
