"""Django's TestCase on savepoints: setUpTestData once per class, each test in a savepoint.

The example that broke on MongoDB before savepoints (docs/transactions.rst): a TestCase test
catching IntegrityError from an inner atomic() and querying on.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.test import TestCase

from tests.testapp.models import Tag


class SavepointTestCase(TestCase):
    set_up_calls = 0

    @classmethod
    def setUpTestData(cls):
        cls.set_up_calls += 1
        cls.tag = Tag.objects.create(name="class-wide")

    def test_name_is_unique(self):
        Tag.objects.create(name="a")
        with self.assertRaises(IntegrityError), transaction.atomic():
            Tag.objects.create(name="a")
        self.assertEqual(Tag.objects.count(), 2)

    def test_set_up_test_data_ran_once_for_the_class(self):
        self.assertEqual(type(self).set_up_calls, 1)
        self.assertEqual(Tag.objects.get().name, "class-wide")

    def test_each_test_gets_the_next_id_after_the_class_data(self):
        # The previous test's ids were given back at its rollback, as SQLite hands them out
        # again: suites that hard-code ids rely on it.
        self.assertEqual(Tag.objects.create(name="mine").pk, self.tag.pk + 1)

    def test_the_same_in_another_test(self):
        self.assertEqual(Tag.objects.create(name="also mine").pk, self.tag.pk + 1)
