"""Differential testing against SQLite: data loading, example budget and the summary line.

``DIFFERENTIAL_EXAMPLES`` (default 2000) is the number of generated querysets per run, split
over the property tests; the generation is derandomized (a fixed seed per test), so CI runs the
same querysets every time. ``DIFFERENTIAL_SEED=N`` draws a different fixed set instead, e.g.
``DIFFERENTIAL_EXAMPLES=20000 DIFFERENTIAL_SEED=7 pytest tests/differential`` for a longer run.
The profiles ``differential-ci`` and ``differential-long`` carry the same settings for
``--hypothesis-profile`` users.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

from . import data
from .compare import MONGO, ORACLE, STATS

EXAMPLES = int(os.environ.get("DIFFERENTIAL_EXAMPLES", "2000"))
SEED = os.environ.get("DIFFERENTIAL_SEED")

COMMON = {
    "deadline": None,
    "database": None,
    "print_blob": True,
    "suppress_health_check": [
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.function_scoped_fixture,
        HealthCheck.data_too_large,
    ],
}
settings.register_profile("differential-ci", derandomize=True, **COMMON)
settings.register_profile("differential-long", derandomize=False, **COMMON)


def budget(share):
    """Hypothesis settings for a test that runs ``share`` of the run's querysets."""
    return settings(
        max_examples=max(1, round(EXAMPLES * share)), derandomize=SEED is None, **COMMON
    )


@pytest.fixture
def differential_data(django_db_blocker):
    """The generated rows on both aliases (reloaded when a flush emptied them)."""
    expected = data.counts_expected()
    with django_db_blocker.unblock():
        for alias in (ORACLE, MONGO):
            if data.counts(alias) != expected:
                data.load(alias)


def pytest_terminal_summary(terminalreporter):
    if not STATS.compared:
        return
    write = terminalreporter.write_line
    terminalreporter.section("differential: MongoDB backend vs SQLite")
    write(
        f"querysets compared: {STATS.compared}; mismatches: {STATS.mismatches}; "
        f"known mismatches: {STATS.known}; unsupported (NotSupportedError): "
        f"{STATS.unsupported}; both raised the same error: {STATS.both_raised}; "
        f"SQLite alone raised: {STATS.oracle_raised}"
    )
    write(
        f"time in queries: SQLite {STATS.seconds[ORACLE]:.1f}s, "
        f"MongoDB {STATS.seconds[MONGO]:.1f}s; slowest on MongoDB:"
    )
    for seconds, source in STATS.slowest[:3]:
        write(f"  {seconds:.2f}s {source[:300]}")
    for name, count in sorted(STATS.known_reasons.items()):
        write(f"  known {name}: {count}")
    for reason, count in STATS.unsupported_reasons.most_common(8):
        write(f"  unsupported x{count}: {reason}")
    for report in STATS.failures[:5]:
        write("mismatch:\n" + report)


#: How every differential test uses the databases: flushes (only this app's tables) instead of
#: transactions, so a server-side error in one query cannot abort the reads after it.
DB = {
    "databases": [MONGO, ORACLE],
    "transaction": True,
    "available_apps": ["tests.differential"],
}
