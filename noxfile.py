"""nox sessions. ``./dev.sh test`` runs the default ones: tests for each Django, the CI subset of
Django's own suite, MongoDB's specification tests, then lint and the type check."""

from __future__ import annotations

import re
from pathlib import Path

import nox

nox.options.sessions = ["tests", "django_suite_ci", "spec_tests", "lint", "typecheck"]
nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = True

PYTHON = "3.13"
DJANGO_VERSIONS = {
    "5.2": "django>=5.2,<5.3",
    "6.1": "django>=6.1,<6.2",
}
LATEST_DJANGO = list(DJANGO_VERSIONS)[-1]
#: The linters, pinned: .pre-commit-config.yaml runs the same ruff release (keep them equal).
RUFF = "ruff==0.17.6"
MYPY = "mypy==2.4.1"
TEST_REQUIREMENTS = [
    "pytest>=8",
    "pytest-django>=4.9",
    "pytest-timeout",
    "selenium>=4.20",
    "hypothesis",
    "django-reversion>=5.1",  # the example project's VersionAdmin, driven by the browser test
    "Pillow",  # ImageField on GridFSStorage (tests/storage/test_fields.py)
    "django-debug-toolbar==8.0.0",  # django_mongo_backend.toolbar's panel (tests/toolbar)
]


@nox.session(python=PYTHON)
@nox.parametrize("django", list(DJANGO_VERSIONS))
def tests(session, django):
    """The pytest suite against the embedded server (and real MongoDB if MONGODB_URI is set)."""
    session.install("-e", ".[embedded]", DJANGO_VERSIONS[django], *TEST_REQUIREMENTS)
    arguments = list(session.posargs)
    if not arguments and django != LATEST_DJANGO:
        # The embedded server's own tests do not involve Django: run them once, with the
        # latest Django, and everything that does involve Django on every version.
        arguments = ["--ignore=tests/embedded"]
    session.run("python", "-m", "pytest", *arguments)


# What Django's runtests.py needs for the harness's apps (tblib: tracebacks from --parallel
# workers; Pillow: the ImageField tests of model_fields, model_forms and admin_views, about 50,
# which the README's figures include on both sides). Apps needing more (jinja2, PyYAML,
# bcrypt...) skip those tests on both backends.
DJANGO_SUITE_REQUIREMENTS = ["asgiref", "sqlparse", "tblib", "Pillow"]


@nox.session(python=PYTHON)
@nox.parametrize("django", list(DJANGO_VERSIONS))
def django_suite(session, django):
    """Django's own test suite on this backend next to SQLite: ``nox -s django_suite -- lookup``.

    Not run by default. Arguments go to tests/django_suite/run.py (apps, --parallel N,
    --timeout S, --json PATH, --no-sqlite, ``-- RUNTESTS_ARGS``).
    """
    session.install("-e", ".[embedded]", DJANGO_VERSIONS[django], *DJANGO_SUITE_REQUIREMENTS)
    session.run("python", "tests/django_suite/run.py", *session.posargs)


@nox.session(python=PYTHON)
def django_suite_ci(session):
    """The CI-sized subset of Django's suite (run.py's CI_APPS) on the latest Django: every
    test must pass or be skipped under its reason in suite_skips.py, so regressions fail CI."""
    session.install("-e", ".[embedded]", DJANGO_VERSIONS[LATEST_DJANGO], *DJANGO_SUITE_REQUIREMENTS)
    session.run("python", "tests/django_suite/run.py", "ci", "--no-sqlite", "--strict", "-v", "1")


# Reusable apps' own suites (tests/app_suites): the Django they all support, the runners, and
# each app pinned with what its tests need (apps/<app>.py; run.py fetches the same release's
# sdist for the tests).
APP_SUITES_DJANGO = DJANGO_VERSIONS["5.2"]


@nox.session(python=PYTHON)
def app_suites(session):
    """Reusable apps' own test suites on this backend next to SQLite: ``nox -s app_suites``
    (all apps) or ``nox -s app_suites -- django-filter``.

    Not run by default. Each app's pinned release is installed from PyPI and its tests come
    from the same release's sdist (cached under ~/.cache, never vendored); arguments go to
    tests/app_suites/run.py (apps, --timeout S, --json PATH, --no-sqlite, --rerun-sqlite,
    ``-- RUNNER_ARGS``). docs/app-suites.rst explains how settings are swapped.
    """
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from tests.app_suites.apps import APPS

    requirements = ["pytest>=8", "pytest-django>=4.9", "tblib"]
    for app in APPS.values():
        requirements += [app.pin, *app.requirements]
    session.install("-e", ".[embedded]", APP_SUITES_DJANGO, *requirements)
    session.run("python", "tests/app_suites/run.py", *session.posargs)


@nox.session(python=PYTHON)
def spec_tests(session):
    """MongoDB's driver specification tests (unified format) against the embedded server.

    Run by default, with ``--strict`` (under a minute and a half): a failure that
    tests/spec/expectations.py does not list, or a listed one that passes, fails the session.
    The JSON tests come from the installed pymongo's sdist (``pip download`` from PyPI, cached
    under ~/.cache; never vendored); run.py prints the table and writes the JSON results under
    the cache. Arguments go to run.py (directories, ``--json PATH``, ``-v``).
    """
    session.install("-e", ".[embedded]")
    session.run("python", "-m", "tests.spec.run", "--strict", *session.posargs)


@nox.session(python=PYTHON)
def lint(session):
    session.install(RUFF)
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python=PYTHON)
def typecheck(session):
    """mypy on the compiler's typed public surface (configuration in pyproject.toml).

    Django ships no type information, so its names are ``Any``: what is checked is the
    compiler's own contracts (``Scope``, ``SelectPlan``, ``SelectBuilder``, what a
    ``ConditionCompiler`` needs of the ``ExpressionCompiler`` handed to it).
    """
    session.install(MYPY)
    session.run("mypy", *session.posargs)


# The peers the benchmarks compare with, each in its own virtualenv, installed from PyPI (never
# vendored). Their sessions only install; ``bench`` runs every backend's scenarios from there,
# against one embedded server, so all the numbers come from one run.
BENCH_PEERS = {
    "django-mongodb-backend": "bench_django_mongodb_backend",
    "djongo": "bench_djongo",
}


@nox.session(python="3.13")
def bench_django_mongodb_backend(session):
    """MongoDB's own backend (latest from PyPI, with the Django it pins) for ``bench``."""
    session.install("--upgrade", "django-mongodb-backend")


@nox.session(python="3.11")
def bench_djongo(session):
    """Djongo (latest from PyPI, the newest Django it accepts) for ``bench``."""
    session.install("--upgrade", "djongo")


@nox.session(python=PYTHON, requires=list(BENCH_PEERS.values()))
def bench(session):
    """Benchmarks (not tests): every scenario on this backend, the peers and SQLite, as ratios.

    ``nox -s bench`` runs bench/run_all.py (arguments after ``--`` go to it); the table, the
    JSON results and a PNG chart land in bench/results/.
    """
    session.install("-e", ".[embedded]", DJANGO_VERSIONS[LATEST_DJANGO], "matplotlib")
    peers = []
    for peer, name in BENCH_PEERS.items():
        venv = Path(session.virtualenv.location).parent / _nox_dir_name(name)
        peers += ["--peer-python", f"{peer}={venv / 'bin' / 'python'}"]
    session.run("python", "bench/run_all.py", *peers, *session.posargs)
    # What savepoints cost on this backend alone (docs/transactions.rst).
    session.run("python", "bench/transaction_costs.py")


def _nox_dir_name(session_name):
    return re.sub(r"[^\w.-]", "-", session_name)
