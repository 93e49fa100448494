"""Scenario 6's compile times in several checkouts of this backend, measured alternately.

    python bench/compile_ab.py CHECKOUT [CHECKOUT ...] [--runs N]

e.g. ``git worktree add /tmp/before <commit>`` then ``python bench/compile_ab.py /tmp/before .``.
Each run starts one process per checkout, in a rotating order, with that checkout's
``django_mongo_backend`` first on ``sys.path``; the querysets and models are this directory's
(``scenario6_compile.querysets``), so only the compiler differs. A process times each queryset
as scenario 6 does (best of five rounds of 200 compiles, CPU time, a fresh compiler each
time) and needs no server: compiling sends nothing. The table gives, per queryset, the median
over the runs of each checkout's time and its ratio to the first checkout's. On a shared
machine a process sharing its core with other work runs slower throughout: compare medians of
several runs (``--runs``, default 10), never one run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROUNDS = 5


def child(checkout):
    """Time every queryset with ``checkout``'s package; print {name: seconds per compile}."""
    sys.path[:0] = [str(checkout), str(BENCH_DIR)]
    import django
    from django.conf import settings

    settings.configure(
        DATABASES={
            # Never contacted: compiling a queryset sends nothing.
            "default": {"ENGINE": "django_mongo_backend", "NAME": "compile_ab"}
        },
        INSTALLED_APPS=["bench_app"],
        USE_TZ=True,
        SECRET_KEY="bench",
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
    )
    django.setup()
    import scenario6_compile

    import django_mongo_backend

    package = Path(django_mongo_backend.__file__).resolve().parent
    if package.parent != Path(checkout).resolve():
        raise SystemExit(f"imported {package}, not the checkout's package")
    times = {}
    for name, queryset in scenario6_compile.querysets():
        query = queryset.query
        query.get_compiler("default").mql()
        best = None
        for _ in range(ROUNDS):
            started = time.process_time()
            for _ in range(scenario6_compile.COMPILES):
                query.get_compiler("default").mql()
            elapsed = (time.process_time() - started) / scenario6_compile.COMPILES
            best = elapsed if best is None else min(best, elapsed)
        times[name] = best
    print(json.dumps(times))


def run_child(checkout):
    environment = dict(os.environ, PYTHONPATH=str(checkout))
    completed = subprocess.run(
        [sys.executable, __file__, "--child", str(checkout)],
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(completed.stdout)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkouts", nargs="*", type=Path)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    checkouts = [path.resolve() for path in args.checkouts]
    if not checkouts:
        parser.error("name at least one checkout")
    samples = {checkout: [] for checkout in checkouts}
    for run in range(args.runs):
        shift = run % len(checkouts)
        for checkout in checkouts[shift:] + checkouts[:shift]:
            samples[checkout].append(run_child(checkout))
        print(f"run {run + 1}/{args.runs}", file=sys.stderr)
    names = list(samples[checkouts[0]][0])
    medians = {
        checkout: {name: statistics.median(s[name] for s in samples[checkout]) for name in names}
        for checkout in checkouts
    }
    first = checkouts[0]
    print("microseconds per compile (median of runs), and the ratio to the first checkout")
    for index, checkout in enumerate(checkouts):
        print(f"  [{index}] {checkout}")
    print(f"{'queryset':24}" + "".join(f"{f'[{i}]':>16}" for i in range(len(checkouts))))
    for name in [*names, "mean"]:
        cells = []
        for checkout in checkouts:
            if name == "mean":
                value = statistics.mean(medians[checkout].values())
                reference = statistics.mean(medians[first].values())
            else:
                value, reference = medians[checkout][name], medians[first][name]
            cells.append(f"{value * 1e6:8.1f} {value / reference:6.3f}x")
        print(f"{name:24}" + "".join(f"{cell:>16}" for cell in cells))


if __name__ == "__main__":
    main()
