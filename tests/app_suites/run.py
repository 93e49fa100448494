"""Run reusable apps' own test suites (unmodified) on this backend, next to SQLite.

    python tests/app_suites/run.py [APP ...] [--timeout S] [--json PATH] [--no-sqlite]
                                   [--rerun-sqlite] [--top N] [-- RUNNER_ARGS]

APPs are names from apps/ (``django-model-utils``, ``django-guardian``, ``django-filter``,
``django-import-export``, ``djangorestframework``, ``django-allauth``); without any, all run.
Arguments after ``--`` go to each app's runner (e.g. ``-- -x`` or ``-- tests/test_fields.py``
for the pytest ones).

- Each app's tests come from the sdist of its pinned release (apps/<app>.py), fetched once
  with ``pip download`` and unpacked, without the app's package (unless its tests live in
  it), under the cache
  (``$APP_SUITES_CACHE``, else ``~/.cache/django-mongo-backend/app-suites/``); never copied
  into the repository. The code under test is the same release, installed from PyPI by the
  nox session.
- Each app runs with its own runner in a subprocess, once on this backend (one embedded
  server for the whole run, in a temporary directory, stopped at the end; or ``MONGODB_URI``)
  and once on the SQLite settings its maintainers use. The settings are swapped from outside:
  child/ (on the child's PYTHONPATH) holds a pytest plugin and a settings module that replace
  DATABASES only; docs/app-suites.rst explains how, per app.
- Outcomes are recorded as JSON lines in the Django suite harness's format and summarized by
  its code: a table per app, the ratio of SQLite's passes kept here, the most frequent failure
  reasons, all written as JSON in the cache. SQLite's figures are cached per app version,
  Django version and runner arguments (``--rerun-sqlite`` refreshes).
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import django  # noqa: E402

from tests import sdists  # noqa: E402
from tests.app_suites.apps import APPS  # noqa: E402
from tests.app_suites.skips import SKIPS  # noqa: E402
from tests.django_suite import run as suite  # noqa: E402

DBPATH_ENV = "APP_SUITES_MONGO_DBPATH"


def backend_path(run_dir):
    """A directory holding only this repository's ``django_mongo_backend`` (a symbolic link),
    for the child's PYTHONPATH. The repository itself would bring its ``tests`` package
    along, and a regular package wins over the namespace package an app's ``tests/`` folder
    without ``__init__.py`` is (django-import-export imports ``tests.core``), wherever each
    sits on sys.path."""
    target = run_dir / "backend"
    link = target / "django_mongo_backend"
    target.mkdir(parents=True, exist_ok=True)
    try:
        link.symlink_to(REPO_ROOT / "django_mongo_backend", target_is_directory=True)
    except OSError:  # no symbolic links here: the repository, as before
        return REPO_ROOT
    return target


def cache_root():
    return sdists.cache_root("APP_SUITES_CACHE", "app-suites")


def source_dir(app, cache):
    """The app's sdist, less its package, unpacked into the cache once."""
    target = cache / "sources" / f"{app.name}-{app.version}"
    if target.is_dir():
        return target
    unpacked = sdists.unpack(app.name, app.version, cache / "sources", None, app.wanted)
    if unpacked != target:
        unpacked.replace(target)
    return target


def run_app(app, backend, *, source, run_dir, timeout, extra, env):
    """One run of the app's runner; the Django suite harness's summary of what it recorded."""
    out_dir = run_dir / backend
    out_dir.mkdir(parents=True, exist_ok=True)
    record = out_dir / f"{app.name}.jsonl"
    log = out_dir / f"{app.name}.log"
    record.unlink(missing_ok=True)
    command = [sys.executable, *app.command, *extra]
    child_env = {
        **env,
        **app.env.get(backend, {}),
        "APP_SUITES_BACKEND": backend,
        "APP_SUITES_DB_PREFIX": app.package,
        suite.RECORD_ENV: str(record),
        "RUNTESTS_DIR": str(source),
    }
    if backend == "mongo":
        child_env["APP_SUITES_SKIPS"] = json.dumps(SKIPS.get(app.name, {}))
    started = time.monotonic()
    timed_out = False
    with open(log, "wb") as log_file:
        log_file.write(("$ " + " ".join(command) + "\n").encode())
        log_file.flush()
        process = subprocess.Popen(  # the app's own runner with our interpreter
            command,
            cwd=source,
            env=child_env,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            suite.kill_group(process)
        except BaseException:
            suite.kill_group(process)
            raise
    summary = suite.summarize(record, process.returncode, timed_out, time.monotonic() - started)
    summary["log"] = str(log)
    summary["record"] = str(record)
    if summary["status"] == "crash":
        summary["crash"] = suite.crash_reason(log)
    return summary


def sqlite_cache_file(cache, app, extra):
    key = json.dumps(
        {
            "extra": extra,
            "command": app.command,
            "env": app.env.get("sqlite"),
            # What the tests import decides what runs (DRF's conftest adds django-guardian).
            "requirements": app.requirements,
            "python": sys.version_info[:2],
            "django": django.__version__,
        }
    )
    digest = hashlib.sha1(key.encode()).hexdigest()[:8]  # a cache key
    return cache / "sqlite-results" / f"{app.name}-{app.version}-{digest}.json"


def run_sqlite(app, cache, args, common):
    return suite.cached_sqlite_run(
        sqlite_cache_file(cache, app, args.extra),
        args.rerun_sqlite,
        lambda: run_app(app, "sqlite", **common),
    )


def parse_args(argv):
    if "--" in argv:
        cut = argv.index("--")
        argv, extra = argv[:cut], argv[cut + 1 :]
    else:
        extra = []
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("apps", nargs="*", help=f"apps (default: all of {', '.join(APPS)})")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per app and backend")
    parser.add_argument("--json", type=Path, help="where to write the figures")
    parser.add_argument("--no-sqlite", action="store_true", help="skip the SQLite comparison")
    parser.add_argument(
        "--rerun-sqlite", action="store_true", help="run SQLite again instead of its cache"
    )
    parser.add_argument("--top", type=int, default=8, help="failure reasons shown per app")
    args = parser.parse_args(argv)
    unknown = [name for name in args.apps if name not in APPS]
    if unknown:
        parser.error(f"unknown apps {unknown}: choose from {', '.join(APPS)}")
    args.extra = extra
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    names = args.apps or list(APPS)
    cache = cache_root()
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    run_dir = cache / "runs" / stamp
    run_dir.mkdir(parents=True, exist_ok=True)
    json_path = args.json or cache / "results" / f"results-{stamp}.json"

    dbpath = Path(tempfile.mkdtemp(prefix="app-suites-mongo-"))
    # child/ for the plugin and settings module, the Django suite harness's directory for its
    # recorder, and this repository's backend package (alone: see backend_path).
    pythonpath = [
        str(HERE / "child"),
        str(REPO_ROOT / "tests" / "django_suite"),
        str(backend_path(run_dir)),
    ]
    if os.environ.get("PYTHONPATH"):
        pythonpath.append(os.environ["PYTHONPATH"])
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(pythonpath),
        DBPATH_ENV: str(dbpath),
        "PYTHONUNBUFFERED": "1",
        suite.SHUFFLE_ENV: "0",
    }
    where = os.environ.get("MONGODB_URI") or f"the embedded server in {dbpath}"
    print(f"Django {django.__version__}; mongo: {where}; logs and records in {run_dir}")
    results = {}
    labels = []
    started = time.monotonic()
    try:
        for name in names:
            app = APPS[name]
            source = source_dir(app, cache)
            label = f"{app.name} {app.version}"
            common = {
                "source": source,
                "run_dir": run_dir,
                "timeout": args.timeout,
                "extra": args.extra,
                "env": env,
            }
            results[label] = entry = {"app": app.name, "version": app.version}
            print(f"[{label}] mongo ...", end=" ", flush=True)
            entry["mongo"] = mongo = run_app(app, "mongo", **common)
            print(f"{mongo['status']} in {mongo['seconds']:.0f}s", end="", flush=True)
            if not args.no_sqlite:
                entry["sqlite"] = sqlite = run_sqlite(app, cache, args, common)
                cached = " (cached)" if sqlite.get("cached") else ""
                print(f"; sqlite {sqlite['status']} in {sqlite['seconds']:.0f}s{cached}", end="")
            print(flush=True)
            labels.append(label)
    except KeyboardInterrupt:
        print("\ninterrupted: reporting what finished")
    finally:
        suite.discard_server(dbpath, run_dir)
    print()
    suite.print_table(results, labels, not args.no_sqlite)
    suite.print_reasons(results, labels, args.top)
    print_skips(results, labels)
    report = {
        "django": django.__version__,
        "python": sys.version.split()[0],
        "backend_commit": suite.git_commit(),
        "started": stamp,
        "seconds": round(time.monotonic() - started, 1),
        "runner_args": args.extra,
        "run_dir": str(run_dir),
        "apps": {label: results[label] for label in labels},
    }
    for label in labels:
        entry = results[label]
        if "sqlite" in entry:
            entry["ratio"] = suite.ratio(entry["mongo"], entry["sqlite"])
            only = suite.only_failing_on_mongo(entry["mongo"], entry["sqlite"])
            entry["only_failing_here"] = only
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(report, indent=1, default=str))
    if args.json is None:
        shutil.copy(json_path, cache / "results" / "latest.json")
    print(f"\nFigures written to {json_path}")
    return 0


def print_skips(results, labels):
    """Skips on MongoDB that SQLite does not make: the harness's table, or the app's own."""
    for label in labels:
        mongo = results[label]["mongo"]
        sqlite = results[label].get("sqlite") or {}
        theirs = {item["reason"]: item["count"] for item in sqlite.get("skip_reasons", [])}
        extra = [
            item
            for item in mongo.get("skip_reasons", [])
            if item["count"] > theirs.get(item["reason"], 0)
        ]
        if extra:
            print(f"\n{label}: skips on MongoDB only")
            for item in extra:
                print(f"  {item['count'] - theirs.get(item['reason'], 0):>4}  {item['reason']}")


if __name__ == "__main__":
    sys.exit(main())
