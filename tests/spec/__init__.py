"""MongoDB's driver specification tests (unified test format) run against the embedded server.

``python -m tests.spec.run`` (or ``nox -s spec_tests``) is the entry point; see run.py.
"""
