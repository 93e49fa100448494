"""nox sessions. ``./dev.sh test`` runs the default ones: tests for each Django, then lint."""

from __future__ import annotations

import nox

nox.options.sessions = ["tests", "lint"]
nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = True

PYTHON = "3.13"
DJANGO_VERSIONS = {
    "5.2": "django>=5.2,<5.3",
    "6.1": "django>=6.1,<6.2",
}
LATEST_DJANGO = list(DJANGO_VERSIONS)[-1]
TEST_REQUIREMENTS = [
    "pytest>=8",
    "pytest-django>=4.9",
    "pytest-timeout",
    "selenium>=4.20",
    "hypothesis",
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
# workers). Apps needing more (Pillow, jinja2, PyYAML...) skip those tests on both backends.
DJANGO_SUITE_REQUIREMENTS = ["asgiref", "sqlparse", "tblib"]


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
def lint(session):
    session.install("ruff")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python=PYTHON)
def bench(session):
    """Benchmarks (not tests): they print ratios and timings."""
    session.install("-e", ".[embedded]", DJANGO_VERSIONS["6.1"])
    scripts = session.posargs or ["bench/embedded_server.py"]
    for script in scripts:
        session.run("python", script)
