"""The data set both databases hold: small, deterministic, full of NULLs, ties and Unicode.

Values come from short pools so that equal values (ties in ordering, duplicate groups, equal
strings differing only in case) are common. Datetimes have millisecond precision: MongoDB
keeps no more, and that truncation is documented, not a mismatch to find.
"""

from __future__ import annotations

import datetime
import random
import uuid
from decimal import Decimal

from .models import Author, Book, Publisher

SEED = 20240611
UTC = datetime.UTC

#: Strings with case pairs (ASCII and not), LIKE/regex metacharacters, astral characters,
#: the empty string and leading/trailing space.
WORDS = [
    "Ann",
    "ann",
    "ANN",
    "Zoë",
    "zoë",
    "ZOË",
    "Élan",
    "élan",
    "Жук",
    "жук",
    "日本",
    "🙂 smile",
    "O'Brien",
    "100%",
    "a_b",
    "a.b",
    "x+y",
    "",
    " pad ",
    "Bob",
    "bob",
]
COUNTRIES = ["FR", "fr", "DE", "日本", "", None]
INTS = [-7, -1, 0, 0, 1, 2, 2, 3, 10, 100, None, None]
BIGINTS = [0, 1, -1, 5, 2**40, -(2**40), 2**53, None, None]
DECIMALS = [Decimal(v) for v in ("0.00", "1.50", "1.50", "-2.25", "10.00", "99.99", "3.33")]
DECIMALS += [None, None]
FLOATS = [0.0, 0.5, 1.25, 1.25, -3.75, 2.0, 1e10, -0.5, None, None]
BOOLS = [True, False, None]
DATES = [datetime.date(2020, 1, 1), datetime.date(2020, 1, 1), datetime.date(1999, 12, 31)]
DATES += [datetime.date(2024, 2, 29), datetime.date(2000, 6, 15), datetime.date(1970, 1, 1), None]
DATETIMES = [
    datetime.datetime(2020, 1, 1, 0, 0, 0, tzinfo=UTC),
    datetime.datetime(2020, 1, 1, 0, 0, 0, tzinfo=UTC),
    datetime.datetime(2020, 1, 1, 12, 30, 15, 123000, tzinfo=UTC),
    datetime.datetime(1999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC),
    datetime.datetime(2024, 2, 29, 6, 0, 0, 1000, tzinfo=UTC),
    None,
]
UUIDS = [uuid.UUID(int=n) for n in (1, 2, 2**127 + 5)] + [uuid.UUID(int=2**64), None]

N_PUBLISHERS = 4
N_AUTHORS = 10
N_BOOKS = 18


def _pick(rng, pool):
    return pool[rng.randrange(len(pool))]


def build(seed=SEED):
    """Unsaved objects with explicit pks (the same pks in both databases) and M2M pairs."""
    rng = random.Random(seed)
    publishers = [
        Publisher(
            pk=i,
            name=_pick(rng, WORDS),
            country=_pick(rng, COUNTRIES),
            founded=_pick(rng, DATES),
        )
        for i in range(1, N_PUBLISHERS + 1)
    ]
    authors = []
    for i in range(1, N_AUTHORS + 1):
        authors.append(
            Author(
                pk=i,
                name=_pick(rng, WORDS),
                nickname=_pick(rng, [*WORDS, None, None]),
                age=_pick(rng, INTS),
                rating=_pick(rng, FLOATS),
                active=_pick(rng, BOOLS),
                born=_pick(rng, DATES),
                uid=_pick(rng, UUIDS),
                # Only earlier authors, so the self-FK has chains and roots.
                mentor_id=rng.choice([None, None, *range(1, i)]) if i > 1 else None,
            )
        )
    books = []
    for i in range(1, N_BOOKS + 1):
        books.append(
            Book(
                pk=i,
                title=_pick(rng, WORDS),
                blurb=_pick(rng, [*WORDS, None]),
                pages=_pick(rng, INTS),
                sales=_pick(rng, BIGINTS),
                price=_pick(rng, DECIMALS),
                score=_pick(rng, FLOATS),
                in_print=rng.random() < 0.6,
                published=_pick(rng, DATES),
                updated=_pick(rng, DATETIMES),
                code=_pick(rng, UUIDS),
                # The last publisher gets no books (an empty group for reverse-FK aggregates).
                publisher_id=rng.randint(1, N_PUBLISHERS - 1),
                editor_id=rng.choice([None, *range(1, N_AUTHORS)]),
            )
        )
    # Author N_AUTHORS writes nothing; some books have no authors, some several.
    links = sorted(
        {
            (book.pk, rng.randint(1, N_AUTHORS - 1))
            for book in books
            for _ in range(rng.choice([0, 1, 1, 2, 3]))
        }
    )
    return publishers, authors, books, links


def load(alias, seed=SEED):
    """Replace the differential tables' content on ``alias`` with the generated data."""
    publishers, authors, books, links = build(seed)
    Book.authors.through.objects.using(alias).all().delete()
    Book.objects.using(alias).all().delete()
    Author.objects.using(alias).all().delete()
    Publisher.objects.using(alias).all().delete()
    Publisher.objects.using(alias).bulk_create(publishers)
    # Mentors refer to earlier authors: insert in pk order in one batch.
    Author.objects.using(alias).bulk_create(authors)
    Book.objects.using(alias).bulk_create(books)
    through = Book.authors.through
    through.objects.using(alias).bulk_create(
        [through(id=n, book_id=b, author_id=a) for n, (b, a) in enumerate(links, 1)]
    )


def counts(alias):
    through = Book.authors.through
    return tuple(model.objects.using(alias).count() for model in (Publisher, Author, Book, through))


def counts_expected(seed=SEED):
    publishers, authors, books, links = build(seed)
    return (len(publishers), len(authors), len(books), len(links))
