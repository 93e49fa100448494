"""The figures the reliability tests collect; ``conftest.py`` prints them when the run ends."""

from __future__ import annotations

import collections

#: name -> number, summed over the tests that ran.
FIGURES = collections.Counter()

#: The order and wording of the summary lines.
LABELS = {
    "processes": "writer processes",
    "threads": "writer threads (own connections)",
    "writes": "acknowledged writes checked",
    "increments": "concurrent increments checked",
    "kills": "server kills (kill -9) survived",
    "bad_inputs": "bad inputs tried",
    "bad_settings": "wrong settings tried",
    "rows_lost": "rows lost",
    "duplicate_ids": "duplicate ids",
    "operations": "soak operations (cores kept busy)",
    "errors": "errors seen by clients",
}

#: Lines printed as they are, after the figures (the soak test's throughput and latencies).
NOTES: list[str] = []


def record(**figures):
    """Add to the run's figures, e.g. ``record(writes=100, rows_lost=0)``."""
    for name, value in figures.items():
        if name not in LABELS:
            raise KeyError(f"unknown reliability figure {name!r}")
        FIGURES[name] += value


def note(line):
    """Add a line to print after the figures."""
    NOTES.append(line)


def summary_lines():
    lines = [f"{label:<36} {FIGURES[name]}" for name, label in LABELS.items() if name in FIGURES]
    return lines + NOTES
