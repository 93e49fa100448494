"""A DiscoverRunner that records every test's outcome as JSON lines, for ``run.py``.

``runtests.py`` uses ``settings.TEST_RUNNER``; both harness settings modules name
``suite_runner.RecordingRunner``. With ``DJANGO_SUITE_RECORD=PATH`` in the environment, each
event is appended to PATH as one JSON object and flushed at once, so a run killed by the
harness's timeout still leaves what it did (and which test it was in). Without the variable the
runner is Django's DiscoverRunner unchanged.

Events (``"event"`` key):

- ``collected``: ``count``, the number of tests in the suite, written before databases are set up.
- ``start``: ``test``, a test starting (serial runs only: parallel workers report afterwards).
- ``outcome``: ``test``, ``outcome`` (``passed``, ``failed``, ``error``, ``skipped``,
  ``expected_failure``, ``unexpected_success``), and for problems ``exc_type``, ``message``
  (first line), ``where`` (the innermost frame in ``django_mongo_backend``, if any),
  ``test_frame`` (the innermost frame in Django's tests), ``origin`` (the innermost frame),
  ``cause`` (type and first line of ``__cause__``, past chained TransactionManagementErrors),
  ``traceback`` (shortened), ``subtest`` (subtest description),
  ``class_level`` (true for setUpClass/module errors and skips reported without a test).
- ``duration``: ``test``, ``seconds`` (setUp, test and tearDown).
"""

from __future__ import annotations

import json
import os
import traceback
import unittest

from django.test.runner import DiscoverRunner

RECORD_ENV = "DJANGO_SUITE_RECORD"
TRACEBACK_CHARS = 6000


class Recorder:
    def __init__(self, path):
        self.path = path

    def write(self, **event):
        # Opened per event: nothing is lost when the harness kills the run.
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(event, default=str) + "\n")


_recorder = None


def recorder():
    global _recorder
    path = os.environ.get(RECORD_ENV)
    if path and (_recorder is None or _recorder.path != path):
        _recorder = Recorder(path)
    return _recorder if path else None


def _frame_text(frame):
    return f"{frame.filename}:{frame.lineno} in {frame.name}"


def describe_error(err):
    """exc_type, first message line, innermost backend frame, innermost frame, traceback text."""
    exc_type, exc_value, tb = err
    text = str(exc_value).strip()
    message = text.splitlines()[0] if text else ""
    try:
        frames = traceback.extract_tb(tb) if tb is not None else []
    except Exception:  # a traceback rebuilt by tblib may be partial
        frames = []
    where = next(
        (
            _frame_text(frame)
            for frame in reversed(frames)
            if "django_mongo_backend" in frame.filename.replace("\\", "/")
        ),
        None,
    )
    origin = _frame_text(frames[-1]) if frames else None
    # The innermost frame in Django's tests: where an assertion failed.
    tests_dir = os.environ.get("RUNTESTS_DIR")
    test_frame = next(
        (
            _frame_text(frame)
            for frame in reversed(frames)
            if tests_dir and frame.filename.startswith(tests_dir)
        ),
        None,
    )
    try:
        formatted = "".join(traceback.format_exception(exc_type, exc_value, tb))
    except Exception:  # an exception that will not format
        formatted = f"{exc_type.__name__}: {text}"
    if len(formatted) > TRACEBACK_CHARS:
        formatted = "...\n" + formatted[-TRACEBACK_CHARS:]
    # The __cause__: for TransactionManagementError, the error that broke the transaction
    # (followed through further TransactionManagementErrors, not into the driver's errors).
    cause = getattr(exc_value, "__cause__", None)
    for _ in range(10):
        if type(cause).__name__ != "TransactionManagementError" or cause.__cause__ is None:
            break
        cause = cause.__cause__
    if cause is not None:
        cause_text = str(cause).strip()
        cause = f"{_type_name(type(cause))}: {cause_text.splitlines()[0] if cause_text else ''}"
    return {
        "exc_type": _type_name(exc_type),
        "message": message[:500],
        "cause": cause[:500] if cause else None,
        "where": where,
        "origin": origin,
        "test_frame": test_frame,
        "traceback": formatted,
    }


def _type_name(exc_type):
    name = getattr(exc_type, "__qualname__", None) or getattr(exc_type, "__name__", "?")
    module = getattr(exc_type, "__module__", "")
    if module and module not in {"builtins", "exceptions"}:
        name = f"{module}.{name}"
    return name


def _is_holder(test):
    return isinstance(test, unittest.suite._ErrorHolder)


class RecordingResultMixin:
    """Mixed into the TextTestResult class the runner would use anyway."""

    def _record(self, test, outcome, err=None, **extra):
        rec = recorder()
        if rec is None:
            return
        event = {"event": "outcome", "test": test.id(), "outcome": outcome, **extra}
        if _is_holder(test):
            event["class_level"] = True
        if err is not None:
            event.update(describe_error(err))
        rec.write(**event)

    def startTest(self, test):
        rec = recorder()
        if rec is not None:
            rec.write(event="start", test=test.id())
        super().startTest(test)

    def addDuration(self, test, elapsed):
        super().addDuration(test, elapsed)
        rec = recorder()
        if rec is not None:
            rec.write(event="duration", test=test.id(), seconds=round(elapsed, 3))

    def addSuccess(self, test):
        super().addSuccess(test)
        self._record(test, "passed")

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._record(test, "failed", err)

    def addError(self, test, err):
        super().addError(test, err)
        self._record(test, "error", err)

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._record(test, "skipped", reason=str(reason)[:300])

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self._record(test, "expected_failure")

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self._record(test, "unexpected_success")

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:
            failed = issubclass(err[0], test.failureException)
            self._record(
                test,
                "failed" if failed else "error",
                err,
                subtest=subtest._subDescription(),
            )


def _count(suite):
    subsuites = getattr(suite, "subsuites", None)  # a ParallelTestSuite counts nothing itself
    if subsuites is not None:
        return sum(subsuite.countTestCases() for subsuite in subsuites)
    return suite.countTestCases()


class RecordingRunner(DiscoverRunner):
    def build_suite(self, *args, **kwargs):
        suite = super().build_suite(*args, **kwargs)
        rec = recorder()
        if rec is not None:
            rec.write(event="collected", count=_count(suite), parallel=self.parallel)
        return suite

    def get_resultclass(self):
        base = super().get_resultclass() or unittest.TextTestResult
        return type(f"Recording{base.__name__}", (RecordingResultMixin, base), {})
