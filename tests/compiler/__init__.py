"""Tests of the queryset -> pipeline translation, one module per area of
``django_mongo_backend/compiler/`` (test_lookups.py for lookups.py, test_conditions.py for
conditions.py...).

A test runs querysets against the embedded server and checks the rows; it also compares the
pipeline of one of them with a golden (``golden.pipeline``), so a change in the translation
shows even when the rows stay the same. The model data the modules share is in conftest.py.
A new translation gets its test in the module of the compiler module it goes into.
"""
