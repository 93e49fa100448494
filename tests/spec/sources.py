"""The spec tests come from pymongo's source distribution, never from this repository.

pymongo ships MongoDB's driver specification tests (JSON files in the unified test format) in
its sdist under ``test/``. The sdist of the *installed* pymongo is fetched once with
``pip download`` and only the JSON files of the directories we run are unpacked, into a cache
(``$SPEC_TESTS_CACHE``, else ``~/.cache/django-mongo-backend/spec-tests/<version>/``).
"""

from __future__ import annotations

import pymongo

from tests import sdists

# Spec directory (relative to the sdist's test/) -> the name shown in the results table.
SPEC_DIRECTORIES = {
    "crud/unified": "crud",
    "transactions/unified": "transactions",
    "transactions-convenient-api/unified": "transactions-convenient-api",
    "index_management": "index-management",
    "collection_management": "collection-management",
    "retryable_writes/unified": "retryable-writes",
    "sessions": "sessions",
    "run_command/unified": "run-command",
    "command_monitoring": "command-monitoring",
}


def cache_root():
    return sdists.cache_root("SPEC_TESTS_CACHE", "spec-tests")


def spec_tests_dir(version=None, cache=None):
    """pymongo's ``test/`` (the JSON files only) for ``version``, unpacked once into the cache."""
    version = version or pymongo.__version__
    cache = (cache or cache_root()) / version
    tests_dir = cache / "test"
    if (tests_dir / "crud").is_dir():
        return tests_dir
    return sdists.unpack("pymongo", version, cache, "test", _wanted)


def _wanted(name):
    """``test/<spec dir>/<file>.json`` for one of SPEC_DIRECTORIES."""
    parts = name.split("/")
    if len(parts) < 3 or not name.endswith(".json"):
        return False
    return "/".join(parts[1:-1]) in SPEC_DIRECTORIES
