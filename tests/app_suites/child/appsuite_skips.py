"""The skip table run.py hands the child process: ``{test id: reason}`` as JSON in
``$APP_SUITES_SKIPS``, only on the MongoDB run (skips.py says why each premise fails there)."""

import json
import os


def table():
    text = os.environ.get("APP_SUITES_SKIPS")
    return json.loads(text) if text else {}
