"""Run Django's own test suite (unmodified) on this backend, next to SQLite, and compare.

    python tests/django_suite/run.py [LABEL ...] [--parallel N] [--timeout S] [--json PATH]
                                     [--no-sqlite] [--rerun-sqlite] [--top N] [-- RUNTESTS_ARGS]

LABELs are Django test apps (``lookup``) or narrower labels (``lookup.tests.LookupTests``);
without any, ``DEFAULT_APPS`` runs. Arguments after ``--`` go to Django's ``runtests.py``
unchanged (e.g. ``-- -k test_in --debug-sql``).

- The tests come from the source distribution of the *installed* Django version, fetched once
  with ``pip download`` and unpacked under the cache directory (``$DJANGO_SUITE_CACHE``, else
  ``~/.cache/django-mongo-backend/django-tests/<version>/``); they are never copied into the
  repository.
- Each label runs in its own ``runtests.py`` subprocess with a timeout (status ``timeout``), once
  with ``settings_mongo`` (``default`` and ``other`` on one embedded server for the whole run,
  in a temporary directory, stopped at the end; or ``MONGODB_URI``) and once with
  ``settings_sqlite`` (Django's own ``test_sqlite.py``). SQLite's figures are cached per Django
  version and label, since they do not depend on this backend (``--rerun-sqlite`` refreshes).
- ``suite_runner.RecordingRunner`` records each test's outcome as JSON lines; this script
  prints a table per label and the most frequent failure reasons, and writes all figures to a
  JSON file (by default in the cache directory; the path is printed).
"""

from __future__ import annotations

import argparse
import collections
import datetime
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SUITE_DIR = Path(__file__).resolve().parent
REPO_ROOT = SUITE_DIR.parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import django  # noqa: E402

from tests import sdists  # noqa: E402

# The apps run when none are named: the ones issue 5 measures the backend by (the 90% target).
DEFAULT_APPS = [
    "basic",
    "lookup",
    "queries",
    "aggregation",
    "aggregation_regress",
    "annotations",
    "expressions",
    "expressions_case",
    "db_functions",
    "ordering",
    "model_fields",
    "many_to_one",
    "many_to_many",
    "one_to_one",
    "m2m_through",
    "m2m_regress",
    "select_related",
    "prefetch_related",
    "defer",
    "delete",
    "update",
    "get_or_create",
    "bulk_create",
    "dates",
    "datetimes",
    "null_queries",
    "or_lookups",
    "custom_lookups",
    "model_inheritance",
    "proxy_models",
    "generic_relations",
    "filtered_relation",
    "timezones",
    "transactions",
    "admin_views",
    "auth_tests",
    "sessions_tests",
    "contenttypes_tests",
    "fixtures",
    "serializers",
    "pagination",
    "model_forms",
]

#: The CI-sized subset (``nox -s django_suite_ci``, part of ``./dev.sh test``): apps that run in
#: a few minutes and pass completely, apart from the skips features.py gives reasons for.
CI_APPS = [
    "one_to_one",
    "m2m_through",
    "m2m_regress",
    "many_to_one",
    "dates",
    "datetimes",
    "null_queries",
    "or_lookups",
    "pagination",
    "transactions",
    "defer",
    "select_related",
    "proxy_models",
    "generic_relations",
    "model_inheritance",
    "model_forms",
]

BACKENDS = {"mongo": "settings_mongo", "sqlite": "settings_sqlite"}
RECORD_ENV = "DJANGO_SUITE_RECORD"
DBPATH_ENV = "DJANGO_SUITE_MONGO_DBPATH"
#: The embedded server's shuffling switch (django_mongo_backend.embedded.server.ordering.ENV_VAR).
SHUFFLE_ENV = "DJANGO_MONGO_EMBEDDED_SHUFFLE"
OUTCOMES = ["passed", "failed", "error", "skipped", "expected_failure", "unexpected_success"]
# When one test reports several outcomes (subtests, tearDown errors), the worst one counts.
SEVERITY = {
    "error": 5,
    "failed": 4,
    "unexpected_success": 3,
    "passed": 2,
    "expected_failure": 1,
    "skipped": 0,
}
PROBLEMS = {"failed", "error", "unexpected_success"}
SLOW_TEST = 5.0  # seconds: slower tests are listed under the failure reasons


# --------------------------------------------------------------------------- Django's tests


def cache_root():
    return sdists.cache_root("DJANGO_SUITE_CACHE", "django-tests")


def django_tests_dir(version, cache):
    """Django's ``tests/`` for ``version``, unpacked from its sdist into the cache (once)."""
    tests_dir = cache / "tests"
    if (tests_dir / "runtests.py").is_file():
        return tests_dir
    return sdists.unpack("Django", version, cache, "tests")


# --------------------------------------------------------------------------- one runtests.py


def run_label(label, backend, *, tests_dir, run_dir, parallel, timeout, verbosity, extra, env):
    """Run ``runtests.py`` for one label (or, given a list, for all of them in one process, as
    a project's own test run goes); return the summary of what it recorded."""
    out_dir = run_dir / backend
    out_dir.mkdir(parents=True, exist_ok=True)
    labels = [label] if isinstance(label, str) else list(label)
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", label if isinstance(label, str) else "together")
    record = out_dir / f"{safe}.jsonl"
    log = out_dir / f"{safe}.log"
    record.unlink(missing_ok=True)
    command = [
        sys.executable,
        str(tests_dir / "runtests.py"),
        f"--settings={BACKENDS[backend]}",
        "--noinput",
        f"--parallel={parallel}",
        f"--verbosity={verbosity}",
        *extra,
        *labels,
    ]
    child_env = {**env, RECORD_ENV: str(record)}
    started = time.monotonic()
    timed_out = False
    with open(log, "wb") as log_file:
        log_file.write(("$ " + " ".join(command) + "\n").encode())
        log_file.flush()
        process = subprocess.Popen(  # Django's runtests.py with our interpreter
            command,
            cwd=tests_dir,
            env=child_env,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: a timeout kills its workers too
        )
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            kill_group(process)
        except BaseException:
            kill_group(process)
            raise
    seconds = time.monotonic() - started
    summary = summarize(record, process.returncode, timed_out, seconds)
    summary["log"] = str(log)
    summary["record"] = str(record)
    if summary["status"] == "crash":
        summary["crash"] = crash_reason(log)
    return summary


def kill_group(process):
    for sig, grace in ((signal.SIGTERM, 15), (signal.SIGKILL, 15)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


def crash_reason(log):
    """The last exception line of a log, for runs that died before reporting tests."""
    lines = log.read_text(errors="replace").splitlines()
    for line in reversed(lines):
        if re.match(r"^[\w.]+(Error|Exception|Exit|Interrupt)\b.*", line):
            return line.strip()[:300]
    return next((line.strip()[:300] for line in reversed(lines) if line.strip()), "")


def read_events(record):
    if not record.is_file():
        return []
    events = []
    for line in record.read_text(errors="replace").splitlines():
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # a line cut short by a kill
    return events


def reason_text(event):
    """Exception type and first message line: what the report shows."""
    exc_type = (event.get("exc_type") or "?").rsplit(".", 1)[-1]
    if event.get("outcome") == "unexpected_success":
        return "unexpected success (the test is marked as an expected failure)"
    message = event.get("message") or ""
    text = f"{exc_type}: {message}"[:160] if message else exc_type
    if is_broken_transaction(event) and event.get("cause"):
        # Which error broke the transaction (MongoDB has no savepoints to recover from it).
        cause_type, _, cause_message = event["cause"].partition(": ")
        text = f"TransactionManagementError after {cause_type.rsplit('.', 1)[-1]}: {cause_message}"
        text = text[:200]
    return text


def reason_key(event):
    """What reasons are grouped by: the text with numbers and addresses blanked out.

    A bare assertion (``0 != 1``, ``False is not true``) also keeps the line of the test that
    made it, so unrelated tests are not lumped together.
    """
    text = re.sub(r"0x[0-9a-fA-F]+", "0x?", reason_text(event))
    key = re.sub(r"\d+", "N", text)
    message = event.get("message") or ""
    if event.get("outcome") == "failed" and len(re.sub(r"[^A-Za-z]", "", message)) < 20:
        key += f" @ {event.get('test_frame')}"
    return key


def in_fixture_setup(event):
    traceback_text = event.get("traceback") or ""
    return "in setUpTestData" in traceback_text or "in _fixture_setup" in traceback_text


def is_broken_transaction(event):
    return (event.get("exc_type") or "").endswith(
        "TransactionManagementError"
    ) and "until the end of the 'atomic' block" in (event.get("message") or "")


def is_cascade(event):
    """An error only because an earlier test left the transaction unusable."""
    return is_broken_transaction(event) and in_fixture_setup(event)


def attribute_cascades(problems):
    """Name, in each cascade error, the earlier error that broke the transaction.

    Without savepoints, TestCase runs setUpTestData inside each test's atomic block; when it
    raises, Django never leaves that block, so every later test fails in its own
    setUpTestData with TransactionManagementError. The useful reason is the first error.
    Only meaningful when tests run in order (not --parallel).
    """
    root = None
    for event in problems:
        if is_cascade(event):
            if root is not None:
                event["cascade_from"] = root
        elif event["outcome"] == "error" and in_fixture_setup(event):
            root = {"reason": reason_text(event), "test": event["test"]}
    return problems


def summarize(record, returncode, timed_out, seconds):
    events = read_events(record)
    collected = None
    outcome = {}  # test id -> worst outcome
    class_level = []  # errors/skips reported for a class or module, not a test
    last_started = None
    problems = []
    durations = {}
    for event in events:
        kind = event.get("event")
        if kind == "duration":
            durations[event["test"]] = durations.get(event["test"], 0) + event["seconds"]
        elif kind == "collected":
            collected = event.get("count")
        elif kind == "start":
            last_started = event.get("test")
        elif kind == "outcome":
            test = event["test"]
            if event.get("class_level"):
                class_level.append(event)
            else:
                current = outcome.get(test)
                if current is None or SEVERITY[event["outcome"]] > SEVERITY[current]:
                    outcome[test] = event["outcome"]
            if event["outcome"] in PROBLEMS:
                problems.append(event)
    counts = collections.Counter(outcome.values())
    for event in class_level:
        counts[event["outcome"]] += 1
    figures = {name: counts.get(name, 0) for name in OUTCOMES}
    figures["tests"] = collected if collected is not None else len(outcome)
    figures["unrun"] = max(0, figures["tests"] - len(outcome))
    if timed_out:
        status = "timeout"
    elif collected is None or returncode not in (0, 1) or (returncode and not events[1:]):
        status = "crash"
    else:
        status = "ok" if returncode == 0 else "failed"
    # Reasons: counted once per test, grouped by exception type and first message line.
    by_reason = collections.OrderedDict()
    for event in attribute_cascades(problems):
        key, text = reason_key(event), reason_text(event)
        cascade = event.get("cascade_from")
        if cascade:
            key = f"cascade after {cascade['test']}"
            text = (
                f"TransactionManagementError after an earlier error in {cascade['test']}: "
                f"{cascade['reason']}"
            )[:220]
        entry = by_reason.setdefault(
            key,
            {
                "text": text,
                "tests": [],
                "where": event.get("where") or event.get("test_frame") or event.get("origin"),
                "traceback": event.get("traceback"),
            },
        )
        if event["test"] not in entry["tests"]:
            entry["tests"].append(event["test"])
    reasons = sorted(
        (
            {
                "reason": entry["text"],
                "count": len(entry["tests"]),
                "where": entry["where"],
                "examples": entry["tests"][:5],
                "traceback": entry["traceback"],
            }
            for key, entry in by_reason.items()
        ),
        key=lambda item: -item["count"],
    )
    skip_reasons = collections.Counter(
        (event.get("reason") or "")[:160]
        for event in events
        if event.get("event") == "outcome" and event.get("outcome") == "skipped"
    )
    summary = {
        "status": status,
        "returncode": returncode,
        "seconds": round(seconds, 1),
        **figures,
        "reasons": reasons,
        "skip_reasons": [{"reason": r, "count": c} for r, c in skip_reasons.most_common()],
        "slowest": [
            {"test": test, "seconds": round(seconds, 1)}
            for test, seconds in sorted(durations.items(), key=lambda item: -item[1])[:10]
        ],
        "outcomes": outcome,
    }
    if timed_out:
        summary["running_at_timeout"] = last_started if last_started not in outcome else None
    return summary


# --------------------------------------------------------------------------- report


COLUMNS = [
    ("tests", 5),
    ("passed", 5),
    ("failed", 5),
    ("error", 5),
    ("skipped", 5),
    ("expected_failure", 4),
    ("unexpected_success", 4),
    ("unrun", 5),
]
HEADERS = {
    "tests": "tests",
    "passed": "pass",
    "failed": "fail",
    "error": "err",
    "skipped": "skip",
    "expected_failure": "xf",
    "unexpected_success": "xp",
    "unrun": "unrun",
}


def fmt_row(summary, columns):
    if summary is None:
        return " ".join(" " * width for _, width in columns)
    return " ".join(f"{summary.get(name, 0):>{width}}" for name, width in columns)


def print_table(results, labels, with_sqlite):
    width = max([len(label) for label in labels] + [len("TOTAL"), 12])
    mongo_cols = COLUMNS
    sqlite_cols = [column for column in COLUMNS if column[0] not in {"tests", "unrun"}]
    head_mongo = " ".join(f"{HEADERS[n]:>{w}}" for n, w in mongo_cols)
    head_sqlite = " ".join(f"{HEADERS[n]:>{w}}" for n, w in sqlite_cols)
    header = f"{'app':<{width}}  {'mongo':<8}{head_mongo} {'time':>7}"
    if with_sqlite:
        header += f" | {'sqlite':<8}{head_sqlite} {'time':>6} {'pass%':>5}"
    print(header)
    print("-" * len(header))
    totals = {"mongo": collections.Counter(), "sqlite": collections.Counter()}
    for label in labels:
        mongo = results[label].get("mongo")
        sqlite = results[label].get("sqlite")
        line = f"{label:<{width}}  {mongo['status']:<8}{fmt_row(mongo, mongo_cols)}"
        line += f" {mongo['seconds']:>6.0f}s"
        for name in [*OUTCOMES, "tests", "unrun", "seconds"]:
            totals["mongo"][name] += mongo.get(name, 0)
        if with_sqlite and sqlite:
            for name in [*OUTCOMES, "seconds"]:
                totals["sqlite"][name] += sqlite.get(name, 0)
            line += f" | {sqlite['status']:<8}{fmt_row(sqlite, sqlite_cols)}"
            line += f" {sqlite['seconds']:>5.0f}s{ratio(mongo, sqlite):>6}"
        print(line)
    print("-" * len(header))
    line = f"{'TOTAL':<{width}}  {'':<8}{fmt_row(totals['mongo'], mongo_cols)}"
    line += f" {totals['mongo']['seconds']:>6.0f}s"
    if with_sqlite:
        line += f" | {'':<8}{fmt_row(totals['sqlite'], sqlite_cols)}"
        line += (
            f" {totals['sqlite']['seconds']:>5.0f}s{ratio(totals['mongo'], totals['sqlite']):>6}"
        )
    print(line)
    for counter in totals.values():
        counter["seconds"] = round(counter["seconds"], 1)
    return {name: dict(counter) for name, counter in totals.items()}


def ratio(mongo, sqlite):
    if not sqlite or not sqlite.get("passed"):
        return "-"
    return f"{100 * mongo.get('passed', 0) / sqlite['passed']:.0f}%"


def short_path(text):
    if not text:
        return text
    return re.sub(r"^.*?/(django_mongo_backend|django|tests)/", r"\1/", text)


def print_reasons(results, labels, top):
    print()
    print(f"Top failure reasons on mongo (per app; tests counted once per reason; top {top}):")
    for label in labels:
        mongo = results[label]["mongo"]
        sqlite = results[label].get("sqlite")
        problems = mongo["failed"] + mongo["error"] + mongo["unexpected_success"]
        if not problems and mongo["status"] in {"ok", "failed"}:
            continue
        extra = ""
        if problems and sqlite and sqlite.get("outcomes") is not None:
            only = only_failing_on_mongo(mongo, sqlite)
            extra = f"; {only} of them pass on SQLite"
        print(f"\n{label} [{mongo['status']}, {problems} failing tests{extra}]")
        if mongo["status"] == "crash":
            print(f"  crash: {mongo.get('crash')}  (log: {mongo['log']})")
        if mongo["status"] == "timeout":
            print(f"  timeout after {mongo['seconds']:.0f}s, in {mongo.get('running_at_timeout')}")
        for reason in mongo["reasons"][:top]:
            where = short_path(reason["where"])
            print(f"  {reason['count']:>4}  {reason['reason']}")
            print(f"        at {where}; e.g. {reason['examples'][0]}")
        rest = mongo["reasons"][top:]
        if rest:
            covered = sum(reason["count"] for reason in rest)
            print(f"        ... {len(rest)} more reasons covering {covered} tests")
        slow = [item for item in mongo.get("slowest", [])[:3] if item["seconds"] >= SLOW_TEST]
        if slow:
            listed = ", ".join(f"{item['test']} {item['seconds']:.0f}s" for item in slow)
            print(f"  slowest: {listed}")


def only_failing_on_mongo(mongo, sqlite):
    return sum(
        1
        for test, result in mongo["outcomes"].items()
        if result in PROBLEMS and sqlite["outcomes"].get(test) == "passed"
    )


# --------------------------------------------------------------------------- main


def parse_args(argv):
    if "--" in argv:
        cut = argv.index("--")
        argv, extra = argv[:cut], argv[cut + 1 :]
    else:
        extra = []
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("labels", nargs="*", help="test apps or labels (default: DEFAULT_APPS)")
    parser.add_argument(
        "--parallel", default="1", help="runtests.py --parallel for each label (N or auto)"
    )
    parser.add_argument(
        "--timeout", type=float, default=1200, help="seconds per label and backend (1200)"
    )
    parser.add_argument("--json", type=Path, help="where to write the figures")
    parser.add_argument("--no-sqlite", action="store_true", help="skip the SQLite comparison")
    parser.add_argument(
        "--rerun-sqlite", action="store_true", help="run SQLite again instead of its cache"
    )
    parser.add_argument("--top", type=int, default=5, help="failure reasons shown per app")
    parser.add_argument(
        "--strict",
        action="store_true",
        help="exit 1 unless every label passes on this backend (skips and expected failures "
        "declared in features.py allowed): the CI subset's regression check",
    )
    parser.add_argument(
        "--shuffle",
        action="store_true",
        help="the embedded server returns unsorted rows and sort ties in a random order (off by "
        "default: some of Django's tests assert the insertion order of unsorted rows)",
    )
    parser.add_argument(
        "--together",
        action="store_true",
        help="all labels in one runtests.py process per backend, as a project's test run goes "
        "(SQLite run afresh, no cache): prints both wall times and their ratio",
    )
    parser.add_argument("-v", "--verbosity", type=int, default=2, help="runtests.py verbosity")
    args = parser.parse_args(argv)
    args.extra = extra
    return args


def git_commit():
    try:
        return subprocess.run(
            ["git", "-C", str(REPO_ROOT), "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def sqlite_cache_file(cache, label, args):
    key = json.dumps({"extra": args.extra, "python": sys.version_info[:2]})
    digest = hashlib.sha1(key.encode()).hexdigest()[:8]  # a cache key
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", label)
    return cache / "sqlite-results" / f"{safe}-{digest}.json"


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    version = django.__version__
    cache = cache_root() / version
    tests_dir = django_tests_dir(version, cache)
    labels = args.labels or DEFAULT_APPS
    if labels == ["ci"]:
        labels = CI_APPS
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    run_dir = cache / "runs" / stamp
    run_dir.mkdir(parents=True, exist_ok=True)
    json_path = args.json or cache / "results" / f"results-{stamp}.json"

    from django_mongo_backend.embedded import launcher

    dbpath = Path(tempfile.mkdtemp(prefix="django-suite-mongo-"))
    pythonpath = [str(SUITE_DIR), str(REPO_ROOT)]
    if os.environ.get("PYTHONPATH"):
        pythonpath.append(os.environ["PYTHONPATH"])
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(pythonpath),
        DBPATH_ENV: str(dbpath),
        "PYTHONUNBUFFERED": "1",
        SHUFFLE_ENV: "1" if args.shuffle else "0",
    }
    where = os.environ.get("MONGODB_URI") or f"the embedded server in {dbpath}"
    print(f"Django {version} tests from {tests_dir}")
    print(f"mongo: {where}; logs and records in {run_dir}")
    common = {
        "tests_dir": tests_dir,
        "run_dir": run_dir,
        "parallel": args.parallel,
        "timeout": args.timeout,
        "verbosity": args.verbosity,
        "extra": args.extra,
        "env": env,
    }
    if args.together:
        try:
            return run_together(labels, args, common, json_path)
        finally:
            discard_server(dbpath)
    results = {}
    started = time.monotonic()
    try:
        for label in labels:
            results[label] = entry = {}
            print(f"[{label}] mongo ...", end=" ", flush=True)
            entry["mongo"] = mongo = run_label(label, "mongo", **common)
            print(f"{mongo['status']} in {mongo['seconds']:.0f}s", end="", flush=True)
            if mongo["status"] == "timeout" and not os.environ.get("MONGODB_URI"):
                launcher.stop_server(dbpath)  # a fresh server for the next app
            if not args.no_sqlite:
                entry["sqlite"] = run_sqlite(label, cache, args, common)
                sqlite = entry["sqlite"]
                cached = " (cached)" if sqlite.get("cached") else ""
                print(f"; sqlite {sqlite['status']} in {sqlite['seconds']:.0f}s{cached}", end="")
            print(flush=True)
    except KeyboardInterrupt:
        print("\ninterrupted: reporting what finished")
        labels = [label for label in labels if "mongo" in results.get(label, {})]
        labels = [label for label in labels if args.no_sqlite or "sqlite" in results[label]]
    finally:
        discard_server(dbpath, run_dir)
    print()
    totals = print_table(results, labels, not args.no_sqlite)
    print_reasons(results, labels, args.top)
    report = {
        "django": version,
        "python": sys.version.split()[0],
        "backend_commit": git_commit(),
        "started": stamp,
        "seconds": round(time.monotonic() - started, 1),
        "parallel": args.parallel,
        "timeout": args.timeout,
        "runtests_args": args.extra,
        "run_dir": str(run_dir),
        "apps": {label: results[label] for label in labels},
        "totals": totals,
    }
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(report, indent=1, default=str))
    latest = cache / "results" / "latest.json"
    if args.json is None:
        shutil.copy(json_path, latest)
    print(f"\nFigures written to {json_path}")
    print(f"Logs and per-test records (with tracebacks): {run_dir}")
    if args.strict:
        broken = [label for label in labels if results[label]["mongo"]["status"] != "ok"]
        if broken:
            print(f"\n--strict: not every test passed on MongoDB in: {', '.join(broken)}")
            return 1
    return 0


def discard_server(dbpath, run_dir=None):
    """Stop the embedded server a run started in ``dbpath`` (none when ``MONGODB_URI`` names
    the server), keep its log in ``run_dir`` when given, and delete its data."""
    if os.environ.get("MONGODB_URI"):
        return
    from django_mongo_backend.embedded import launcher

    launcher.stop_server(dbpath)
    server_log = dbpath / "server.log"
    if run_dir is not None and server_log.is_file():
        shutil.copy(server_log, run_dir / "embedded-server.log")
    shutil.rmtree(dbpath, ignore_errors=True)


def run_together(labels, args, common, json_path):
    """Every label in one process per backend: the wall time a project's suite would take."""
    common = {**common, "timeout": args.timeout * len(labels)}
    report = {"django": django.__version__, "backend_commit": git_commit(), "labels": labels}
    backends = ["mongo"] if args.no_sqlite else ["mongo", "sqlite"]
    for backend in backends:
        print(f"[{len(labels)} apps in one process] {backend} ...", end=" ", flush=True)
        summary = run_label(labels, backend, **common)
        report[backend] = summary
        print(f"{summary['status']} in {summary['seconds']:.0f}s, {summary['passed']} passed")
    if "sqlite" in report and report["sqlite"]["seconds"]:
        factor = report["mongo"]["seconds"] / report["sqlite"]["seconds"]
        report["ratio"] = round(factor, 1)
        print(f"wall time: {factor:.1f}x SQLite's")
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(report, indent=1, default=str))
    print(f"Figures written to {json_path}")
    return 0 if report["mongo"]["status"] in {"ok", "failed"} else 1


def run_sqlite(label, cache, args, common):
    return cached_sqlite_run(
        sqlite_cache_file(cache, label, args),
        args.rerun_sqlite,
        lambda: run_label(label, "sqlite", **common),
    )


def cached_sqlite_run(cache_file, rerun, run):
    """SQLite's summary from ``cache_file``, or ``run()``'s, kept there when the run finished
    (SQLite's figures change only with Django and the command; the app suites' harness too)."""
    if cache_file.is_file() and not rerun:
        summary = json.loads(cache_file.read_text())
        summary["cached"] = str(cache_file)
        return summary
    summary = run()
    if summary["status"] in {"ok", "failed"}:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        cache_file.write_text(json.dumps(summary, default=str))
    return summary


if __name__ == "__main__":
    sys.exit(main())
