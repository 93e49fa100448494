"""Regular expressions for SQL's pattern lookups (``contains``, ``startswith``, ``iexact``...).

A constant is escaped into a literal pattern here, in Python; a column's text is escaped on
the server (``escaped``). Either is anchored as the lookup reads it (``anchored``).
"""

from __future__ import annotations

import re

#: The end of the text: ``$`` alone also matches before a final newline (PCRE and Python),
#: where LIKE 'abc' does not match 'abc\n'.
END = "$(?!\\n)"
#: What a pattern must escape to match a text literally (the backslash first).
REGEX_METACHARACTERS = "\\^$.|?*+()[]{}"


def regex_for(lookup_name, value):
    """The pattern matching the constant ``value`` as ``lookup_name`` reads it."""
    return anchored(lookup_name, re.escape(str(value)))


def anchored(lookup_name, pattern):
    """``pattern`` anchored as the lookup reads it; ``pattern`` is a string or, for a
    column, an expression building one."""

    def join(*parts):
        if all(isinstance(part, str) for part in parts):
            return "".join(parts)
        # A string starting with "$" would be read as a field path: literals stay data.
        return {
            "$concat": [{"$literal": part} if isinstance(part, str) else part for part in parts]
        }

    bare = lookup_name.removeprefix("i")
    if bare == "exact":
        return join("^", pattern, END)
    if bare == "startswith":
        return join("^", pattern)
    if bare == "endswith":
        return join(pattern, END)
    return pattern


def escaped(text):
    """An expression: the text ``text`` evaluates to, with regex metacharacters escaped."""
    for character in REGEX_METACHARACTERS:
        text = {
            "$replaceAll": {
                "input": text,
                "find": {"$literal": character},
                "replacement": {"$literal": "\\" + character},
            }
        }
    return text
