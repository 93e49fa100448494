"""Test files taken from a package's source distribution on PyPI, never copied into this repo.

Django's suite (tests/django_suite) and MongoDB's specification tests (tests/spec, from
pymongo's sdist) both fetch an sdist once with ``pip download`` and unpack the part they run
into a cache under ``~/.cache/django-mongo-backend/`` (``XDG_CACHE_HOME`` respected).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path


def cache_root(env_var, name):
    """``$env_var`` when set, else ``~/.cache/django-mongo-backend/<name>``."""
    if os.environ.get(env_var):
        return Path(os.environ[env_var]).expanduser()
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "django-mongo-backend" / name


def unpack(project, version, cache, directory, wanted=None):
    """``cache/<directory>``: the sdist's top-level ``directory`` for ``project==version``,
    downloaded and unpacked once (only the members for which ``wanted(path)`` is true, when
    given: ``path`` is the member's name inside the sdist's top folder).

    ``directory=None`` unpacks the whole top folder (filtered by ``wanted``) into
    ``cache/<project>-<version>``: what a reusable app's test run needs besides ``tests/``
    (its ``runtests.py``, or the pytest configuration in ``pyproject.toml``/``setup.cfg``)."""
    target = cache / (directory or f"{_normalized(project)}-{version}")
    cache.mkdir(parents=True, exist_ok=True)
    sdist = _fetch(project, version, cache)
    print(f"Unpacking {project} {version}'s {directory or 'source'}/ from {sdist}...", flush=True)
    staging = Path(tempfile.mkdtemp(prefix="unpack-", dir=cache))
    try:
        with tarfile.open(sdist) as archive:
            members = [m for m in archive.getmembers() if _inside(m.name, directory, wanted)]
            if not members:
                sys.exit(f"{sdist} has nothing to unpack under {directory}/")
            archive.extractall(staging, members=members, filter="data")
        top = members[0].name.split("/")[0]
        (staging / top / (directory or "")).replace(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _inside(name, directory, wanted):
    parts = name.split("/")
    if directory is None:
        if len(parts) < 2 or not parts[1]:
            return False
    elif parts[1:2] != [directory]:
        return False
    return wanted is None or wanted("/".join(parts[1:]))


def _fetch(project, version, cache):
    """The sdist of ``project==version`` in ``cache``, downloaded with pip the first time."""
    sdist = cache / f"{_normalized(project)}-{version}.tar.gz"
    if sdist.is_file():
        return sdist
    print(f"Fetching {project} {version}'s source distribution with pip...", flush=True)
    download = cache / "download"
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:"]
    subprocess.run([*command, f"{project}=={version}", "-d", str(download)], check=True)
    found = [
        path
        for path in sorted(download.glob("*.tar.gz"))
        if _normalized(path.name).startswith(f"{_normalized(project)}_")
    ]
    if not found:
        sys.exit(f"pip downloaded no {project} sdist into {download}")
    found[0].replace(sdist)
    shutil.rmtree(download, ignore_errors=True)
    return sdist


def _normalized(name):
    """A project name as sdist file names spell it since PEP 625 (``django_filter-26.2``):
    lower case, runs of ``-``, ``_`` and ``.`` as one ``_``, so either spelling matches."""
    return re.sub(r"[-_.]+", "_", name.lower())
