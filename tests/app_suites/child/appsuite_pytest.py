"""pytest plugin (``-p appsuite_pytest``) for apps whose suites run under pytest.

Settings are not changed here but before Django reads them (models ask the connection for its
limits as they are defined, so a swap after ``django.setup()`` comes too late): an app whose
settings module pytest-django loads gets ``DJANGO_SETTINGS_MODULE=appsuite_settings`` (which
wraps it), and DRF, whose conftest builds its settings from ``$DATABASE_URL`` with
dj-database-url, gets a URL in a scheme registered here for this backend. This plugin:

- registers that scheme with dj-database-url's ``register`` (its way for third-party backends),
- checks, once the app configured Django, that the MongoDB run really is on this backend,
- applies the harness's skip table (skips.py) to the collected tests,
- records every test's outcome as JSON lines in ``$DJANGO_SUITE_RECORD``, in the format of the
  Django suite harness's recorder (tests/django_suite/suite_runner.py), so run.py summarizes
  both kinds of run with the same code.
"""

import os
import time

import appsuite_databases
import appsuite_skips
import pytest
from suite_runner import describe_error, recorder

try:
    import dj_database_url
except ImportError:
    dj_database_url = None
else:

    @dj_database_url.register(appsuite_databases.URL_SCHEME, "django_mongo_backend")
    def _this_backend(parsed_config):
        """``appsuite-mongo:///NAME`` -> this backend's settings for database NAME."""
        # Updated in place: dj-database-url goes on to merge OPTIONS into this dict.
        parsed_config.update(
            appsuite_databases.databases(["default"], parsed_config["NAME"])["default"]
        )


@pytest.hookimpl(trylast=True)
def pytest_configure(config):
    if not appsuite_databases.wanted():
        return
    from django.conf import settings

    engines = {alias: db["ENGINE"] for alias, db in settings.DATABASES.items()}
    if set(engines.values()) != {"django_mongo_backend"}:
        raise pytest.UsageError(f"the MongoDB run is not on this backend: {engines}")


def pytest_collection_modifyitems(config, items):
    skips = appsuite_skips.table() if appsuite_databases.wanted() else {}
    for item in items:
        reason = skips.get(item.nodeid)
        if reason:
            item.add_marker(pytest.mark.skip(reason=reason))


def pytest_collectreport(report):
    """A module that fails to import is one error (its tests are never counted), as Django's
    runner reports a module it cannot load."""
    rec = recorder()
    if rec is not None and report.failed:
        text = str(report.longrepr).strip().splitlines()
        error = next((line[2:].strip() for line in text if line.startswith("E ")), text[-1])
        exc_type, _, message = error.partition(": ")
        rec.write(
            event="outcome",
            test=report.nodeid,
            outcome="error",
            class_level=True,
            exc_type=exc_type,
            message=message,
            origin=report.nodeid,
            traceback=str(report.longrepr)[-6000:],
        )


def pytest_collection_finish(session):
    rec = recorder()
    if rec is not None:
        rec.write(event="collected", count=len(session.items))


def pytest_runtest_logstart(nodeid, location):
    rec = recorder()
    if rec is not None:
        rec.write(event="start", test=nodeid)
    _started[nodeid] = time.monotonic()


_started = {}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if call.excinfo is not None and report.failed:
        info = call.excinfo
        report._appsuite_error = describe_error((info.type, info.value, info.tb))


def pytest_runtest_logreport(report):
    rec = recorder()
    if rec is None:
        return
    event = _outcome(report)
    if event is not None:
        error = getattr(report, "_appsuite_error", None)
        if error is not None:
            event.update(error)
        elif report.failed:
            event.update({"exc_type": "?", "message": str(report.longrepr).splitlines()[-1]})
        rec.write(event="outcome", test=report.nodeid, **event)
    if report.when == "teardown" and report.nodeid in _started:
        seconds = time.monotonic() - _started.pop(report.nodeid)
        rec.write(event="duration", test=report.nodeid, seconds=round(seconds, 3))


def _outcome(report):
    """The event for one phase's report, or None for a phase that says nothing new (a passing
    setup or teardown). Outcome names are the Django recorder's."""
    xfail = hasattr(report, "wasxfail")
    if report.skipped:
        if xfail:
            return {"outcome": "expected_failure"}
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        return {"outcome": "skipped", "reason": str(reason).removeprefix("Skipped: ")[:300]}
    if report.failed:
        if report.when == "call":
            return {"outcome": "failed" if _is_assertion(report) else "error"}
        return {"outcome": "error"}
    if report.when == "call":
        return {"outcome": "unexpected_success" if xfail else "passed"}
    return None


def _is_assertion(report):
    error = getattr(report, "_appsuite_error", None)
    return bool(error) and error["exc_type"].rsplit(".", 1)[-1] in {"AssertionError", "Failed"}


# suite_runner's describe_error names the innermost frame under $RUNTESTS_DIR (the app's
# unpacked source) as the test's own frame.
os.environ.setdefault("RUNTESTS_DIR", os.getcwd())
