"""The ``Range`` request header (RFC 9110, section 14), for one byte range.

A browser resuming a download or seeking in a video asks for one range; several ranges would
need a ``multipart/byteranges`` body, which this server declines by sending the whole file, as
RFC 9110 lets a server ignore ``Range``. A header that does not parse is ignored the same way.
"""

from __future__ import annotations

import re

#: ``bytes=first-last``, ``bytes=first-`` or ``bytes=-suffix`` (one range, spaces allowed
#: around it as the grammar's optional whitespace).
_ONE_RANGE = re.compile(r"bytes=[ \t]*(?:(\d+)-(\d*)|-(\d+))[ \t]*", re.ASCII)

UNSATISFIABLE = "unsatisfiable"


def byte_range(header, length):
    """``(first, last)`` (inclusive) for ``header`` on a representation of ``length`` bytes;
    None to send the whole file; ``UNSATISFIABLE`` for a 416 answer."""
    if not header:
        return None
    match = _ONE_RANGE.fullmatch(header.strip(" \t"))  # a field value's own whitespace
    if match is None:
        return None
    first, last, suffix = match.groups()
    if suffix is not None:
        suffix = int(suffix)
        if suffix == 0 or length == 0:
            return UNSATISFIABLE
        return max(length - suffix, 0), length - 1
    first = int(first)
    if last:
        last = int(last)
        if last < first:
            return None  # invalid: the header is ignored
    if first >= length:
        return UNSATISFIABLE
    return first, min(int(last) if last else length - 1, length - 1)
