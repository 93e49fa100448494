"""Django's test runner for apps run through ``manage.py test``-style runners: the Django
suite harness's RecordingRunner (one JSON line per outcome), plus the harness's skips."""

import unittest

import appsuite_skips
from suite_runner import RecordingRunner


def _tests(suite):
    for test in suite:
        if isinstance(test, unittest.TestSuite):
            yield from _tests(test)
        else:
            yield test


class SkippingRecordingRunner(RecordingRunner):
    def build_suite(self, *args, **kwargs):
        suite = super().build_suite(*args, **kwargs)
        skips = appsuite_skips.table()
        for test in _tests(suite):
            reason = skips.get(test.id())
            if reason:
                method = getattr(test, test._testMethodName)
                setattr(test, test._testMethodName, unittest.skip(reason)(method))
        return suite
