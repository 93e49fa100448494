"""Django's own SQLite test settings (``tests/test_sqlite.py`` of its source), recording results.

Used by ``run.py`` for the comparison run; ``runtests.py`` imports it with Django's ``tests/``
directory and this directory on ``sys.path``.
"""

from test_sqlite import *  # noqa: F403 - Django's test settings, unchanged

TEST_RUNNER = "suite_runner.RecordingRunner"
