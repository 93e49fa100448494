"""File names as GridFS keys: what a storage name may be, and the queries that find it.

GridFS has no directories: a file is a document in ``<bucket>.files`` whose ``filename`` is the
whole storage name (``"attachments/2024/report.pdf"``). Directories exist only as the parts of
names before a "/", so "does this directory exist" and "what is in it" are prefix queries, and
a name must be refused before it is used as a key if a file system would refuse it: an absolute
path, or one that climbs with "..", is ``SuspiciousFileOperation`` (as ``FileSystemStorage``
refuses paths that leave its location), never a key that happens to contain those characters.
"""

from __future__ import annotations

import pathlib

from django.core.exceptions import SuspiciousFileOperation


def file_key(name):
    """The ``filename`` stored for ``name``: "/"-separated, no "." or empty parts.

    Backslashes are separators (as ``Storage.get_available_name`` treats them); ``a/./b`` and
    ``a//b`` are ``a/b``. The root (``""`` or ``"."``) is ``""``.
    """
    if name is None:
        raise ValueError("A file name is required.")
    text = str(name).replace("\\", "/")
    path = pathlib.PurePosixPath(text)
    if path.is_absolute() or ".." in path.parts:
        raise SuspiciousFileOperation(f"Detected path traversal attempt in '{name}'")
    return "/".join(part for part in path.parts if part != ".")


def directory_prefix(key):
    """``"a/b/"`` for the directory ``"a/b"``; ``""`` for the root."""
    return f"{key}/" if key else ""


def under(prefix):
    """A ``filename`` condition matching every name that starts with ``prefix``.

    A range rather than a regular expression: names starting with ``"a/"`` are exactly those at
    least ``"a/"`` and below ``"a0"`` (``"0"`` follows ``"/"``) in MongoDB's binary string order,
    and the bucket's ``filename`` index serves it as bounds.
    """
    if not prefix:
        return {"$exists": True}
    return {"$gte": prefix, "$lt": prefix[:-1] + chr(ord(prefix[-1]) + 1)}


def entries_pipeline(prefix):
    """An aggregation listing what is directly in the directory ``prefix``.

    Each name below the prefix contributes its first remaining part: a file when no "/"
    follows, else a directory; one document per distinct entry,
    ``{"_id": {"name": ..., "directory": bool}}``.
    """
    skip = len(prefix)  # code points, as $substrCP counts them
    rest = {"$substrCP": ["$filename", skip, {"$strLenCP": "$filename"}]}
    return [
        {"$match": {"filename": under(prefix)}},
        {"$project": {"_id": 0, "rest": rest}},
        {"$project": {"rest": 1, "slash": {"$indexOfCP": ["$rest", "/"]}}},
        {
            "$group": {
                "_id": {
                    "$cond": [
                        {"$eq": ["$slash", -1]},
                        {"name": "$rest", "directory": False},
                        {"name": {"$substrCP": ["$rest", 0, "$slash"]}, "directory": True},
                    ]
                }
            }
        },
    ]
