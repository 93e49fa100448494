"""Server errors raised as Django's (errors.py maps them by MongoDB's error code)."""

from __future__ import annotations

import pytest
from django.db import IntegrityError

from tests.testapp.models import Tag

pytestmark = pytest.mark.django_db


def test_unique_violation_is_integrity_error():
    Tag.objects.create(name="once")
    with pytest.raises(IntegrityError):
        Tag.objects.create(name="once")
