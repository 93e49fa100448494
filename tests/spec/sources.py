"""The spec tests come from pymongo's source distribution, never from this repository.

pymongo ships MongoDB's driver specification tests (JSON files in the unified test format) in
its sdist under ``test/``. The sdist of the *installed* pymongo is fetched once with
``pip download`` and only the JSON files of the directories we run are unpacked, into a cache
(``$SPEC_TESTS_CACHE``, else ``~/.cache/django-mongo-backend/spec-tests/<version>/``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import pymongo

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
    if os.environ.get("SPEC_TESTS_CACHE"):
        return Path(os.environ["SPEC_TESTS_CACHE"]).expanduser()
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "django-mongo-backend" / "spec-tests"


def spec_tests_dir(version=None, cache=None):
    """pymongo's ``test/`` (the JSON files only) for ``version``, unpacked once into the cache."""
    version = version or pymongo.__version__
    cache = (cache or cache_root()) / version
    tests_dir = cache / "test"
    if (tests_dir / "crud").is_dir():
        return tests_dir
    cache.mkdir(parents=True, exist_ok=True)
    sdist = cache / f"pymongo-{version}.tar.gz"
    if not sdist.is_file():
        print(f"Fetching pymongo {version}'s source distribution with pip...", flush=True)
        download = cache / "download"
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:"]
        subprocess.run([*command, f"pymongo=={version}", "-d", str(download)], check=True)
        found = sorted(download.glob("pymongo-*.tar.gz"))
        if not found:
            sys.exit(f"pip downloaded no pymongo sdist into {download}")
        found[0].replace(sdist)
        shutil.rmtree(download, ignore_errors=True)
    staging = Path(tempfile.mkdtemp(prefix="unpack-", dir=cache))
    try:
        with tarfile.open(sdist) as archive:
            members = [m for m in archive.getmembers() if _wanted(m.name)]
            if not members:
                sys.exit(f"{sdist} has none of the spec directories {list(SPEC_DIRECTORIES)}")
            archive.extractall(staging, members=members, filter="data")
        top = members[0].name.split("/")[0]
        (staging / top / "test").replace(tests_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return tests_dir


def _wanted(name):
    """``pymongo-X/test/<spec dir>/<file>.json`` for one of SPEC_DIRECTORIES."""
    parts = name.split("/")
    if len(parts) < 4 or parts[1] != "test" or not name.endswith(".json"):
        return False
    return "/".join(parts[2:-1]) in SPEC_DIRECTORIES
