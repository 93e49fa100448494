"""Worker processes of the reliability tests, started and released together.

Each worker (``python -m tests.reliability.<module> ...``) sets Django up with its own
connection, prints ``ready`` and waits for a line on stdin, so that all of them start their
work at the same moment.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def environment():
    """The test run's environment, with the repository importable and no settings module (the
    workers configure Django themselves)."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return env


def start(module, *arguments):
    return subprocess.Popen(
        [sys.executable, "-m", f"tests.reliability.{module}", *map(str, arguments)],
        cwd=REPO,
        env=environment(),
        text=True,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def wait_until_ready(workers):
    for worker in workers:
        line = worker.stdout.readline()
        assert line.strip() == "ready", worker.communicate(timeout=60)[1]


def release(workers):
    for worker in workers:
        worker.stdin.write("go\n")
        worker.stdin.flush()


def kill_leftovers(processes):
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait()
