"""Every scenario on every backend, against one embedded server, printed side by side.

    python bench/run_all.py [--peer-python NAME=PYTHON ...] [--backends a,b] [--scale S]
        [--repeat N] [--timeout SECONDS] [--out-dir DIR] [--uri URI]

``nox -s bench`` runs this with the peers' virtualenvs (their own nox sessions install them from
PyPI). It starts an embedded server in a temporary directory (or uses ``--uri``), runs
``run_backend.py`` once per backend, one after the other, each in that backend's Python, then
prints the ratios to raw pymongo (wall / client CPU, and commands per operation), writes
``bench.json`` and ``bench.png`` to ``--out-dir`` (default bench/results) and checks the targets
listed under "Targets" in docs/benchmarks.rst.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

import harness  # noqa: E402
from run_backend import ROWS, SCENARIOS  # noqa: E402

ROW_ORDER = [row for scenario in SCENARIOS for row in ROWS[scenario]]
ROW_TITLES = {
    "read": "1 read 10k rows",
    "get": "2 get() x2,000",
    "bulk_create": "3 bulk_create 10k",
    "page": "4 page of 50 / 100k",
    "join": "5a select_related",
    "group_by": "5b values().annotate()",
    "compile": "6 compile 20 querysets",
}
DEFAULT_ORDER = [harness.OURS, harness.DMB, harness.SQLITE, harness.DJONGO]
SHORT = {
    harness.OURS: "this backend",
    harness.DMB: "django-mongodb-backend",
    harness.DJONGO: "djongo",
    harness.SQLITE: "SQLite",
}


def log(message):
    print(message, file=sys.stderr, flush=True)


def machine():
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu": model or platform.processor(),
        "platform": platform.platform(),
        "python": platform.python_version(),
    }


def run_backend(backend, python, uri, args, workdir, timeout):
    """Run one backend's scenarios in a subprocess; its results dict (rows may be errors)."""
    out = Path(workdir) / f"{backend}.json"
    errors = Path(workdir) / f"{backend}.log"
    if not python or not Path(python).exists():
        reason = f"no virtualenv ({python or 'not given'}): run it through `nox -s bench`"
        return {"versions": {}, "results": {row: {"error": reason} for row in ROW_ORDER}}
    command = [
        str(python),
        str(BENCH_DIR / "run_backend.py"),
        f"--backend={backend}",
        f"--uri={uri}",
        f"--out={out}",
        f"--scale={args.scale}",
        f"--repeat={args.repeat}",
        f"--budget={args.budget}",
    ]
    started = time.perf_counter()
    timed_out = False
    with errors.open("w") as stderr:
        try:
            subprocess.run(command, stdout=stderr, stderr=stderr, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            timed_out = True
    elapsed = time.perf_counter() - started
    try:
        data = json.loads(out.read_text())
    except (OSError, ValueError):
        tail = errors.read_text().strip().splitlines()[-1:] if errors.exists() else []
        data = {"versions": {}, "results": {}, "failure": " ".join(tail)[:200]}
    for row in ROW_ORDER:
        if row not in data["results"]:
            if timed_out:
                reason = f"not reached: the backend's {timeout:.0f} s budget ran out"
            else:
                reason = data.get("failure") or "no result (see the log)"
            data["results"][row] = {"error": reason}
    data["seconds"] = round(elapsed, 1)
    log(f"[{backend}] done in {elapsed:.0f} s (log: {errors})")
    return data


def compile_ratio(results, backend):
    """Mean compile time over the querysets both this backend and django-mongodb-backend compile,
    as (this backend's ms, django-mongodb-backend's ms, speed-up, how many querysets)."""
    ours = results.get(backend, {}).get("results", {}).get("compile", {}).get("per_query")
    theirs = results.get(harness.DMB, {}).get("results", {}).get("compile", {}).get("per_query")
    if not ours or not theirs:
        return None
    common = [name for name in ours if "cpu" in ours[name] and "cpu" in theirs.get(name, {})]
    if not common:
        return None
    mine = sum(ours[name]["cpu"] for name in common) / len(common) * 1000
    other = sum(theirs[name]["cpu"] for name in common) / len(common) * 1000
    return mine, other, other / mine, len(common)


def cell(row, result, results, backend):
    if "error" in result:
        return "n/a", result["error"]
    if row == "compile":
        text = f"{result['mean_ms']:.3f} ms"
        ratio = compile_ratio(results, backend)
        if ratio and backend != harness.DMB:
            text += (
                f" ({ratio[2]:.1f}x faster)" if ratio[2] >= 1 else f" ({1 / ratio[2]:.1f}x slower)"
            )
        if result.get("failed"):
            text += f", {result['failed']} fail"
        return text, None
    commands = result.get("queries")
    wire = result.get("wire")
    if backend == harness.SQLITE:
        count = f"{commands} SQL"
    else:
        count = f"{commands} cmd" if wire in (None, commands) else f"{commands} cmd/{wire} wire"
    return f"{result['wall_ratio']:.2f}x / {result['cpu_ratio']:.2f}x, {count}", None


def table(results, backends):
    """The side-by-side table: (text, footnotes)."""
    notes = []
    header = ["scenario", *[SHORT[b] for b in backends]]
    lines = []
    for row in ROW_ORDER:
        line = [ROW_TITLES[row]]
        for backend in backends:
            result = results[backend]["results"].get(row, {"error": "missing"})
            text, error = cell(row, result, results, backend)
            if error:
                if error not in notes:
                    notes.append(error)
                text = f"n/a [{notes.index(error) + 1}]"
            line.append(text)
        lines.append(line)
    widths = [max(len(str(line[i])) for line in [header, *lines]) for i in range(len(header))]
    rule = "  ".join("=" * width for width in widths)
    out = [rule, "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)), rule]
    out += ["  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) for line in lines]
    out.append(rule)
    return "\n".join(out), notes


def absolute(results, backends):
    """Median milliseconds (backend / raw pymongo), for the record."""
    lines = []
    for row in ROW_ORDER:
        if row == "compile":
            continue
        parts = []
        for backend in backends:
            result = results[backend]["results"].get(row, {})
            if "orm_wall" in result:
                keys = ("orm_wall", "raw_wall", "orm_cpu", "raw_cpu")
                ms = {key: result[key] * 1000 for key in keys}
                parts.append(
                    f"{SHORT[backend]} {ms['orm_wall']:.0f}/{ms['raw_wall']:.0f} ms wall,"
                    f" {ms['orm_cpu']:.0f}/{ms['raw_cpu']:.0f} ms cpu ({result['runs']} runs)"
                )
        lines.append(f"{ROW_TITLES[row]}: " + "; ".join(parts))
    return "\n".join(lines)


#: Client CPU time over raw pymongo each of these rows must stay within.
CPU_LIMITS = {"read": 1.2, "get": 1.5, "bulk_create": 1.5, "group_by": 1.5}
#: Commands per operation.
COMMANDS = {"get": 1, "bulk_create": 2}
#: How many times faster than django-mongodb-backend compiling must be.
COMPILE_FACTOR = 3


def targets(results):
    """The targets of docs/benchmarks.rst ("Targets"), checked on this backend's results."""
    ours = results.get(harness.OURS, {}).get("results", {})
    theirs = results.get(harness.DMB, {}).get("results", {})
    checks = []

    def check(target, value, met):
        checks.append({"target": target, "value": value, "met": met})

    for row, limit in CPU_LIMITS.items():
        value = ours.get(row, {}).get("cpu_ratio")
        check(
            f"{row} client CPU <= {limit}x raw pymongo",
            None if value is None else round(value, 2),
            value is not None and value <= limit,
        )
    for row in ROW_ORDER:
        mine, peer = ours.get(row, {}).get("cpu_ratio"), theirs.get(row, {}).get("cpu_ratio")
        if row == "compile" or peer is None:
            continue
        check(
            f"{row} client CPU below django-mongodb-backend's ({round(peer, 2)}x)",
            None if mine is None else round(mine, 2),
            mine is not None and mine < peer,
        )
    ratio = compile_ratio(results, harness.OURS)
    check(
        f"compile >= {COMPILE_FACTOR}x faster than django-mongodb-backend",
        None if ratio is None else round(ratio[2], 2),
        ratio is not None and ratio[2] >= COMPILE_FACTOR,
    )
    for row, expected in COMMANDS.items():
        value = ours.get(row, {}).get("queries")
        check(f"{row} = {expected} commands", value, value == expected)
    return checks


def chart(results, backends, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [row for row in ROW_ORDER if row != "compile"]
    figure, axes = plt.subplots(1, 3, figsize=(15, 4.8), gridspec_kw={"width_ratios": [3, 3, 1.3]})
    width = 0.8 / len(backends)
    for axis, kind in zip(axes[:2], ("cpu", "wall"), strict=True):
        for index, backend in enumerate(backends):
            values, positions = [], []
            for position, row in enumerate(rows):
                value = results[backend]["results"].get(row, {}).get(f"{kind}_ratio")
                if value is not None:
                    values.append(value)
                    positions.append(position + (index - (len(backends) - 1) / 2) * width)
            axis.bar(positions, values, width, label=SHORT[backend])
        axis.axhline(1.0, color="black", linewidth=0.8)
        axis.set_yscale("log")
        axis.set_xticks(range(len(rows)))
        axis.set_xticklabels([ROW_TITLES[row] for row in rows], rotation=25, ha="right")
        axis.set_title(f"{'client CPU' if kind == 'cpu' else 'wall'} time / raw pymongo")
        axis.grid(axis="y", which="both", alpha=0.3)
    axes[0].legend(fontsize=8)
    names, values, colors = [], [], []
    for index, backend in enumerate(backends):
        result = results[backend]["results"].get("compile", {})
        if result.get("mean_ms") is not None:
            names.append(SHORT[backend])
            values.append(result["mean_ms"] * 1000)
            colors.append(f"C{index}")
    axes[2].bar(range(len(values)), values, color=colors)
    axes[2].set_xticks(range(len(names)))
    axes[2].set_xticklabels(names, rotation=25, ha="right")
    axes[2].set_title("compile, µs per queryset")
    figure.tight_layout()
    figure.savefig(path, dpi=80)
    plt.close(figure)


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peer-python", action="append", default=[], metavar="NAME=PYTHON")
    # The slowest peer last, so the deadline cuts it rather than the others.
    parser.add_argument("--backends", default=",".join(DEFAULT_ORDER))
    parser.add_argument("--scale", type=float, default=1.0, help="size factor (0.1 to try)")
    parser.add_argument("--repeat", type=int, default=5, help="runs per timing (median)")
    parser.add_argument("--budget", type=float, default=25.0, help="s per timing at most")
    parser.add_argument("--timeout", type=float, default=200.0, help="s per backend at most")
    parser.add_argument(
        "--deadline", type=float, default=470.0, help="s for all backends (nox -s bench < 10 min)"
    )
    parser.add_argument("--out-dir", default=str(BENCH_DIR / "results"))
    parser.add_argument("--uri", help="an existing server instead of a new embedded one")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    backends = [name for name in args.backends.split(",") if name]
    pythons = {harness.OURS: sys.executable, harness.SQLITE: sys.executable}
    for item in args.peer_python:
        name, _, python = item.partition("=")
        pythons[name] = python
    stop = None
    uri = args.uri
    if not uri:
        sys.path.insert(0, str(harness.REPO))
        uri, stop = harness.start_server()
    started = time.perf_counter()
    results = {}
    try:
        with tempfile.TemporaryDirectory(prefix="bench-run-") as workdir:
            for backend in backends:
                left = args.deadline - (time.perf_counter() - started)
                timeout = max(30.0, min(args.timeout, left))
                log(f"[{backend}] running (at most {timeout:.0f} s)...")
                results[backend] = run_backend(
                    backend, pythons.get(backend), uri, args, workdir, timeout
                )
                if results[backend].get("failure"):
                    log((Path(workdir) / f"{backend}.log").read_text()[-3000:])
    finally:
        if stop:
            stop()
    text, notes = table(results, backends)
    checks = targets(results) if harness.OURS in results else []
    print()
    print("Ratio to raw pymongo on the same server in the same run: wall / client CPU,")
    print("and MongoDB commands per operation (connection.queries; /N wire = with getMore).")
    print(text)
    for number, note in enumerate(notes, 1):
        print(f"[{number}] {note}")
    for backend in backends:
        for note in results[backend].get("notes", []):
            print(f"{SHORT[backend]}: {note}")
    print()
    print("Median ms, backend / raw pymongo:")
    print(absolute(results, backends))
    print()
    for check in checks:
        print(f"{'met ' if check['met'] else 'MISS'}  {check['target']}: {check['value']}")
    print(f"\ntotal {time.perf_counter() - started:.0f} s")
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    report = {
        "machine": machine(),
        "arguments": {"scale": args.scale, "repeat": args.repeat, "budget": args.budget},
        "backends": results,
        "table": text,
        "notes": notes,
        "targets": checks,
    }
    (out_dir / "bench.json").write_text(json.dumps(report, indent=1, default=str) + "\n")
    try:
        chart(results, backends, out_dir / "bench.png")
    except ImportError:
        log("matplotlib is not installed: no chart")
    log(f"wrote {out_dir / 'bench.json'} and bench.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
