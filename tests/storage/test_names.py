"""Storage names as GridFS keys, and the Range header: pure functions, no server."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.exceptions import SuspiciousFileOperation

from django_mongo_backend.storage import names, ranges


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("a.txt", "a.txt"),
        ("dir/a.txt", "dir/a.txt"),
        ("dir\\sub\\a.txt", "dir/sub/a.txt"),  # backslashes separate, as in Storage.save()
        ("dir/./a.txt", "dir/a.txt"),
        ("dir//a.txt", "dir/a.txt"),
        ("dir/", "dir"),
        (Path("dir") / "a.txt", "dir/a.txt"),
        ("", ""),
        (".", ""),
        ("..a/b..", "..a/b.."),  # dots inside a part are characters, not a climb
    ],
)
def test_file_key(name, key):
    assert names.file_key(name) == key


@pytest.mark.parametrize(
    "name", ["..", "../a", "a/../b", "a/..", "/etc/passwd", "\\evil", "//server/share"]
)
def test_file_key_refuses_what_leaves_the_storage(name):
    # FileSystemStorage refuses these through safe_join(); a key must not carry them either,
    # or a name valid nowhere else would be served by the view.
    with pytest.raises(SuspiciousFileOperation):
        names.file_key(name)


def test_under_is_the_prefix_range():
    assert names.under("a/") == {"$gte": "a/", "$lt": "a0"}
    assert names.under("") == {"$exists": True}
    # Every name starting with the prefix is in the range and no other.
    bounds = names.under("docs/")
    inside = ["docs/", "docs/a", "docs/\U0010ffff", "docs//x"]
    outside = ["docs", "docs0", "docsa", "doct/", "doc/"]
    assert all(bounds["$gte"] <= name < bounds["$lt"] for name in inside)
    assert not any(bounds["$gte"] <= name < bounds["$lt"] for name in outside)


@pytest.mark.parametrize(
    ("header", "length", "expected"),
    [
        (None, 10, None),
        ("bytes=0-4", 10, (0, 4)),
        ("bytes=5-", 10, (5, 9)),
        ("bytes=5-100", 10, (5, 9)),  # last-pos past the end: up to the end
        ("bytes=-3", 10, (7, 9)),
        ("bytes=-30", 10, (0, 9)),  # suffix longer than the file: all of it
        ("bytes=9-9", 10, (9, 9)),
        (" bytes=1-2\t", 10, (1, 2)),  # whitespace around a field value is not part of it
        ("bytes= 1-2 ", 10, (1, 2)),  # optional whitespace around the range
        ("bytes=10-", 10, ranges.UNSATISFIABLE),
        ("bytes=-0", 10, ranges.UNSATISFIABLE),
        ("bytes=0-", 0, ranges.UNSATISFIABLE),  # nothing to send from an empty file
        ("bytes=-5", 0, ranges.UNSATISFIABLE),
        ("bytes=5-2", 10, None),  # invalid (last < first): ignored, the whole file
        ("bytes=0-1,3-4", 10, None),  # several ranges: the whole file instead
        ("items=0-1", 10, None),
        ("bytes=a-b", 10, None),
        ("bytes=\u0661-\u0662", 10, None),  # Arabic-Indic digits are not DIGIT
    ],
)
def test_byte_range(header, length, expected):
    assert ranges.byte_range(header, length) == expected
