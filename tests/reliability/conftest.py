"""Reliability tests: concurrency, faults (kill -9 and restart), hostile input, wrong settings.

Every test adds what it did to ``figures.FIGURES``; the run ends with a summary of them
(processes, writes, kills survived, bad inputs tried, rows lost), as issue 9 asks.
"""

from __future__ import annotations

import pytest

from .figures import summary_lines


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    lines = summary_lines()
    if lines:
        terminalreporter.section("reliability figures")
        for line in lines:
            terminalreporter.write_line(line)


@pytest.fixture
def clean_db(django_db_setup, django_db_blocker):
    """The test database with the models these tests write emptied before and after.

    Cheaper than ``django_db(transaction=True)``, whose flush empties every collection of
    every app after each test; and no surrounding transaction, so every write is committed
    (and visible to other connections) as it would be in production.
    """
    with django_db_blocker.unblock():
        _empty()
        try:
            yield
        finally:
            _empty()


def _empty():
    from django.db import connections

    from tests.testapp.models import AllTypes, Author, Book, Natural, Tag

    for model in (Book, Author, Tag, AllTypes, Natural):
        model.objects.all()._raw_delete("default")  # one delete_many, no cascade collection
    connections.close_all()
