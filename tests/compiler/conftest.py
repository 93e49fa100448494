"""Model data shared by the compiler tests (tests/testapp models)."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from tests.testapp.models import Author, Book


@pytest.fixture
def library():
    ann = Author.objects.create(name="Ann", age=30)
    bob = Author.objects.create(name="Bob", age=None)
    cy = Author.objects.create(name="Cy", age=45)
    books = [
        Book.objects.create(title="Alpha", author=ann, pages=100, price=Decimal("9.99")),
        Book.objects.create(title="beta", author=ann, editor=bob, pages=50),
        Book.objects.create(
            title="Gamma", author=bob, editor=cy, pages=10, published=datetime.date(2020, 5, 1)
        ),
        Book.objects.create(title="Delta", author=cy, pages=300, price=Decimal("20.00")),
    ]
    return {"ann": ann, "bob": bob, "cy": cy, "books": books}


@pytest.fixture
def people():
    ann = Author.objects.create(name="Ann", age=30)
    bob = Author.objects.create(name="Bob", age=None)
    cy = Author.objects.create(name="Cy", age=45)
    dee = Author.objects.create(name="Dee", age=30)
    Book.objects.create(title="Alpha", author=ann, pages=100)
    Book.objects.create(title="Beta", author=ann, pages=100)
    Book.objects.create(title="Gamma", author=bob, pages=10)
    Book.objects.create(title="Delta", author=cy, pages=300)
    return {"ann": ann, "bob": bob, "cy": cy, "dee": dee}


@pytest.fixture
def orphans():
    """Books without an editor (their ``editor`` is missing after the outer join), one edited
    by Bob (his ``age`` is null) and one edited by Ann."""
    ann = Author.objects.create(name="Ann", age=30)
    bob = Author.objects.create(name="Bob", age=None)
    first = Book.objects.create(title="First", author=ann, pages=1)
    second = Book.objects.create(title="Second", author=ann, pages=2)
    edited = Book.objects.create(title="Edited", author=bob, editor=ann, pages=3)
    by_bob = Book.objects.create(title="By Bob", author=ann, editor=bob, pages=4)
    return {"ann": ann, "bob": bob, "first": first, "second": second, "edited": edited} | {
        "by_bob": by_bob
    }


@pytest.fixture
def accents():
    return [Author.objects.create(name=name, age=age) for name, age in (("ÉLAN", 1), ("élan", 2))]
