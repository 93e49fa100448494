"""MongoDB's driver specification tests (unified format) against the embedded server.

    python -m tests.spec.run [DIRECTORY ...] [--json PATH] [--strict] [-v]

DIRECTORY names come from sources.SPEC_DIRECTORIES (``crud``, ``transactions``...); without
any, all run. The JSON files come from the installed pymongo's sdist (sources.py). One embedded
server is started in a temporary directory and stopped at the end; with ``MONGODB_URI`` set the
tests run against that server instead (to check the runner against real MongoDB 7.0).

Prints, per directory, the applicable / passed / failed / left-out counts, the failures per
cause (expectations.CAUSES) and the left-out tests per reason (requirements.py, or what the
runner lacks); ``-v`` prints every test that did not pass, with its reason. Writes the counts
and every non-passing test's status, reason and duration to ``--json`` (default: a new file
under the cache, ``~/.cache/django-mongo-backend/spec-tests/results/``, never the checkout).
Failures are compared with expectations.EXPECTED_FAILURES; ``--strict`` exits 1 on an unexpected
failure or on an expected failure that now passes (so the list stays true).
"""

from __future__ import annotations

import argparse
import collections
import datetime
import json
import os
import sys
import tempfile
import time
from pathlib import Path

SPEC_DIR = Path(__file__).resolve().parent
REPO_ROOT = SPEC_DIR.parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import pymongo  # noqa: E402

from tests.spec import entities, expectations, runner, sources  # noqa: E402

# The directories the 95% target is about.
TARGET_DIRECTORIES = ("crud", "transactions", "index-management")


def run_all(uri, names, verbose=False):
    tests_dir = sources.spec_tests_dir()
    # The runner's own client is no entity: it may always monitor at pymongo's lowest frequency
    # (a fail point left on by a test can hit it too, and then it waits for a heartbeat).
    internal = pymongo.MongoClient(
        uri, serverSelectionTimeoutMS=10_000, heartbeatFrequencyMS=entities.LOW_HEARTBEAT_MS
    )
    outcomes = []
    try:
        for directory, name in sources.SPEC_DIRECTORIES.items():
            if names and name not in names:
                continue
            for path in sorted((tests_dir / directory).glob("*.json")):
                for outcome in runner.run_file(path, name, uri, internal):
                    outcomes.append(outcome)
                    if verbose and outcome.status != runner.PASSED:
                        print(f"{outcome.status.upper()}: {outcome.test_id}: {outcome.reason}")
    finally:
        internal.close()
    return outcomes


def summarise(outcomes):
    counts = collections.defaultdict(collections.Counter)
    for outcome in outcomes:
        counts[outcome.test_id.split("/", 1)[0]][outcome.status] += 1
    rows = []
    for name in dict.fromkeys(sources.SPEC_DIRECTORIES.values()):
        if name not in counts:
            continue
        c = counts[name]
        applicable = c[runner.PASSED] + c[runner.FAILED]
        rows.append(
            {
                "directory": name,
                "applicable": applicable,
                "passed": c[runner.PASSED],
                "failed": c[runner.FAILED],
                "left_out": c[runner.LEFT_OUT],
            }
        )
    return rows


def table(rows):
    header = ("directory", "applicable", "passed", "failed", "left out", "passed %")
    lines = [header]
    for row in rows:
        share = f"{100 * row['passed'] / row['applicable']:.1f}" if row["applicable"] else "-"
        lines.append(
            (
                row["directory"],
                str(row["applicable"]),
                str(row["passed"]),
                str(row["failed"]),
                str(row["left_out"]),
                share,
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "\n".join(
        "  ".join(
            cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i])
            for i, cell in enumerate(line)
        )
        for line in lines
    )


def breakdown(outcomes):
    """The tests that did not pass, counted by cause (failures, from expectations.CAUSES) and
    by reason (left out): one line each, the most frequent first."""
    failed = collections.Counter(
        expectations.EXPECTED_FAILURES.get(o.test_id, "not in expectations.py")
        for o in outcomes
        if o.status == runner.FAILED
    )
    left_out = collections.Counter(o.reason for o in outcomes if o.status == runner.LEFT_OUT)
    lines = ["failed, by cause (expectations.py):"]
    for cause, count in failed.most_common():
        text = expectations.CAUSES.get(cause)
        lines.append(f"  {count:4}  {cause}" + (f": {text}" if text else ""))
    lines.append("left out, by reason:")
    lines += [f"  {count:4}  {reason}" for reason, count in left_out.most_common()]
    return "\n".join(lines)


def server_facts(uri):
    """What the server says about itself: the spec tests' verdicts depend on it."""
    client = pymongo.MongoClient(uri, serverSelectionTimeoutMS=10_000)
    try:
        hello = client.admin.command("hello")
        version = client.admin.command("buildInfo").get("version")
        client.admin.command("ping")
        topology = client.topology_description.server_descriptions()
        server_type = next(iter(topology.values())).server_type_name
    finally:
        client.close()
    return {"version": version, "server_type": server_type, "setName": hello.get("setName")}


def compare(outcomes):
    """(unexpected failures, expected failures that passed) against EXPECTED_FAILURES."""
    failed = {o.test_id: o for o in outcomes if o.status == runner.FAILED}
    ran = {o.test_id for o in outcomes if o.status != runner.LEFT_OUT}
    unexpected = [
        o for test_id, o in failed.items() if test_id not in expectations.EXPECTED_FAILURES
    ]
    fixed = [
        test_id
        for test_id in expectations.EXPECTED_FAILURES
        if test_id in ran and test_id not in failed
    ]
    return unexpected, fixed


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("directories", nargs="*", help="spec directories (default: all)")
    parser.add_argument("--json", type=Path, help="where to write the results (default: cache)")
    parser.add_argument("--strict", action="store_true", help="fail on drift from expectations")
    parser.add_argument("-v", "--verbose", action="store_true", help="print each non-pass")
    args = parser.parse_args(argv)
    unknown = set(args.directories) - set(sources.SPEC_DIRECTORIES.values())
    if unknown:
        parser.error(f"unknown directories {sorted(unknown)}")

    started = time.monotonic()
    uri = os.environ.get("MONGODB_URI")
    dbpath = None
    if not uri:
        from django_mongo_backend.embedded import launcher

        dbpath = tempfile.mkdtemp(prefix="spec-tests-")
        # As the spec tests expect a replica set: discovered from its member, not through a
        # direct connection (which makes drivers send $readPreference primaryPreferred).
        info = launcher.ensure_server(dbpath)
        uri = f"mongodb://{info.get('host') or '127.0.0.1'}:{info['port']}/"
    try:
        facts = server_facts(uri)
        outcomes = run_all(uri, set(args.directories), args.verbose)
    finally:
        if dbpath:
            launcher.stop_server(dbpath)
    seconds = time.monotonic() - started

    rows = summarise(outcomes)
    print(table(rows))
    print(
        f"\npymongo {pymongo.__version__} spec tests; server {facts['version']} seen by pymongo "
        f"as {facts['server_type']}; {len(outcomes)} tests in {seconds:.0f}s"
    )
    target = [row for row in rows if row["directory"] in TARGET_DIRECTORIES]
    applicable = sum(row["applicable"] for row in target)
    if applicable:
        passed = sum(row["passed"] for row in target)
        print(
            f"{', '.join(TARGET_DIRECTORIES)}: {passed}/{applicable} applicable tests pass "
            f"({100 * passed / applicable:.1f}%; the target is 95%)"
        )
    print()
    print(breakdown(outcomes))
    report = {
        "pymongo": pymongo.__version__,
        "server": facts,
        "seconds": round(seconds, 1),
        "directories": rows,
        "not_passed": {
            o.test_id: {"status": o.status, "reason": o.reason, "seconds": round(o.seconds, 2)}
            for o in outcomes
            if o.status != runner.PASSED
        },
    }
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    json_path = args.json or sources.cache_root() / "results" / f"results-{stamp}.json"
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(report, indent=1, sort_keys=False, default=str) + "\n")
    print(f"results: {json_path}")

    unexpected, fixed = compare(outcomes)
    for outcome in unexpected:
        print(f"UNEXPECTED FAILURE {outcome.test_id}: {outcome.reason}")
    for test_id in fixed:
        print(f"NOW PASSING (remove from expectations.EXPECTED_FAILURES): {test_id}")
    if args.strict and (unexpected or fixed):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
