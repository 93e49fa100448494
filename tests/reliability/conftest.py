"""Reliability tests: concurrency, faults (kill -9 and restart), hostile input, wrong settings.

Every test adds what it did to ``figures.FIGURES``; the run ends with a summary of them
(processes, writes, kills survived, bad inputs tried, rows lost), as issue 9 asks.
"""

from __future__ import annotations

from .figures import summary_lines


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    lines = summary_lines()
    if lines:
        terminalreporter.section("reliability figures")
        for line in lines:
            terminalreporter.write_line(line)
