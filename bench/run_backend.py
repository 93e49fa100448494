"""Run the scenarios for one backend in this process and write its results as JSON.

    python bench/run_backend.py --backend B --uri URI --out FILE [--scale S] [--repeat N]
        [--scenarios scenario1_read,...]

``run_all.py`` starts one of these per backend, each with the Python of that backend's own
virtualenv. A scenario that fails records the reason instead of numbers; a backend that cannot
even be set up records that reason for every scenario.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import tempfile
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness

# Run order: cheap scenarios first and the 100,000-document load last, so a slow peer that runs
# out of time still reports most rows; the table keeps the scenarios' own order.
RUN_ORDER = [
    "scenario6_compile",
    "scenario1_read",
    "scenario2_get",
    "scenario5_join_group",
    "scenario3_bulk_create",
    "scenario4_page",
]
SCENARIOS = [
    "scenario1_read",
    "scenario2_get",
    "scenario3_bulk_create",
    "scenario4_page",
    "scenario5_join_group",
    "scenario6_compile",
]
# The table rows each scenario module produces (so a failed module names its rows).
ROWS = {
    "scenario1_read": ["read"],
    "scenario2_get": ["get"],
    "scenario3_bulk_create": ["bulk_create"],
    "scenario4_page": ["page"],
    "scenario5_join_group": ["join", "group_by"],
    "scenario6_compile": ["compile"],
}


def log(message):
    print(message, file=sys.stderr, flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", required=True, choices=harness.BACKENDS)
    parser.add_argument("--uri", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--budget", type=float, default=40.0)
    parser.add_argument("--scenarios", default=",".join(RUN_ORDER))
    args = parser.parse_args(argv)
    scenarios = [name for name in args.scenarios.split(",") if name]
    output = {"backend": args.backend, "results": {}, "versions": {}}

    def write():
        Path(args.out).write_text(json.dumps(output, indent=1, default=str))

    name = "bench_" + args.backend.replace("-", "_")
    with tempfile.TemporaryDirectory() as workdir:
        try:
            harness.configure(args.backend, args.uri, name, workdir)
            output["versions"] = harness.versions(args.backend)
            bench = harness.Bench(
                args.backend, args.uri, name, args.scale, args.repeat, args.budget
            )
        except Exception as error:
            traceback.print_exc()
            reason = "setup failed: " + harness.error_text(error)
            for scenario in scenarios:
                for row in ROWS[scenario]:
                    output["results"][row] = {"error": reason}
            write()
            return 0
        for scenario in scenarios:
            log(f"[{args.backend}] {scenario}...")
            started = time.perf_counter()
            try:
                rows = importlib.import_module(scenario).run(bench)
            except Exception as error:
                traceback.print_exc()
                rows = {row: {"error": harness.error_text(error)} for row in ROWS[scenario]}
            for row, result in rows.items():
                result["seconds"] = round(time.perf_counter() - started, 2)
                output["results"][row] = result
            output["notes"] = bench.notes
            write()
        bench.client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
