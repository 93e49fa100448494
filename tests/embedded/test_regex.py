"""Regular expressions as MongoDB 7.0 matches them: PCRE2 in UTF mode without Unicode
properties (``pcre_util::flagsToOptions``, src/mongo/util/pcre_util.cpp; manual, $regex: "Starting
in version 6.1, MongoDB uses the PCRE2 library"). Python's ``re`` differs on each point below.
"""

from __future__ import annotations

import pytest
from bson.regex import Regex
from pymongo.errors import OperationFailure

from .test_corrections import project


def ascii_ids(value):
    """Parameter ids usable in a database name (the fixture names one after the test)."""
    return "".join(c if c.isascii() and (c.isalnum() or c in "-_") else "_" for c in str(value))


def matches(collection, pattern, text, options=""):
    """Whether ``{$regex: pattern}`` selects a document holding ``text``, and what
    ``$regexMatch`` says of it; both must agree."""
    collection.delete_many({})
    collection.insert_one({"s": text})
    query = {"s": {"$regex": pattern, "$options": options}}
    found = collection.count_documents(query) == 1
    expression = {"$regexMatch": {"input": "$s", "regex": pattern, "options": options}}
    (result,) = collection.aggregate([{"$project": {"_id": 0, "m": expression}}])
    assert result["m"] == found
    return found


@pytest.mark.parametrize(
    ("pattern", "text", "options", "expected"),
    [
        # \d \w \s \b and POSIX classes are ASCII unless the pattern starts with (*UCP).
        (r"^\d+$", "١٢٣", "", False),
        (r"^\d+$", "123", "", True),
        (r"(*UCP)^\d+$", "١٢٣", "", True),
        (r"^\w$", "é", "", False),
        (r"(*UCP)^\w$", "é", "", True),
        (r"^\s$", "\u00a0", "", False),
        (r"\bcafé\b", "un café!", "", False),
        (r"^[[:alpha:]]+$", "élan", "", False),
        (r"^[[:alpha:]]+$", "elan", "", True),
        # case-insensitive matching folds every letter (UTF mode), not only ASCII ones
        (r"^élan$", "ÉLAN", "i", True),
        (r"(?i)^élan$", "ÉLAN", "", True),
        # PCRE2 syntax Python lacks or spells otherwise
        (r"^ab\z", "ab", "", True),
        (r"^ab\z", "ab\n", "", False),
        (r"^ab\Z", "ab\n", "", True),
        (r"^ab$", "ab\n", "", True),
        (r"^\x{e9}$", "é", "", True),
        (r"^a++b", "aab", "", True),
        (r"^(?<year>\d{4})-\k<year>$", "2024-2024", "", True),
        (r"^a.b$", "a\nb", "s", True),
        (r"^b", "a\nb", "m", True),
        ("^a b$", "ab", "x", True),
        # an escaped letter is a class, not the letter (the literal-pattern SQL shortcut read it
        # as one)
        (r"^a\d", "ad", "", False),
        (r"^a\d", "a1", "", True),
    ],
    ids=ascii_ids,
)
def test_regex_is_pcre2_without_ucp(mongo_db, pattern, text, options, expected):
    """``$regex`` and ``$regexMatch`` compile with ``PCRE2_UTF`` only (pcre_util.cpp
    ``flagsToOptions``): ``\\d``, ``\\w``, ``\\s``, ``\\b`` and ``[[:alpha:]]`` are ASCII unless the
    pattern starts with ``(*UCP)``; caseless matching folds Unicode letters; ``\\z``,
    ``\\x{hh}``, possessive quantifiers and ``\\k<name>`` are PCRE2 syntax."""
    assert matches(mongo_db.c, pattern, text, options) is expected


def test_a_bson_regular_expression_value_is_pcre2_too(mongo_db):
    """A BSON regular expression as the filter value (``{s: /^\\d+$/}``) or inside ``$in`` goes
    to the same matcher as ``$regex``: ``\\d`` is ASCII."""
    mongo_db.c.insert_many([{"_id": 1, "s": "١٢٣"}, {"_id": 2, "s": "123"}])
    digits = Regex(r"^\d+$")
    assert [doc["_id"] for doc in mongo_db.c.find({"s": digits})] == [2]
    assert [doc["_id"] for doc in mongo_db.c.find({"s": {"$in": [digits]}})] == [2]


def test_regex_find_all_reports_ascii_digits_only(mongo_db):
    """``$regexFindAll`` with ``\\d`` finds the ASCII digits and skips Arabic-Indic ones; ``idx``
    counts code points (manual, $regexFindAll)."""
    expression = {"$regexFindAll": {"input": "$s", "regex": r"\d"}}
    assert project(mongo_db.c, expression, s="é1 ١٢ 2") == [
        {"match": "1", "idx": 1, "captures": []},
        {"match": "2", "idx": 6, "captures": []},
    ]


def test_python_unicode_escape_is_a_pcre2_error(mongo_db):
    """PCRE2 refuses ``\\u0041`` ("PCRE2 does not support \\F, \\L, \\l, \\N{name}, \\U, or
    \\u"): ``$regex`` fails with 51091 and ``$regexMatch`` with 51111 (``Invalid Regex in``,
    src/mongo/db/pipeline/expression.cpp)."""
    mongo_db.c.insert_one({"s": "A"})
    with pytest.raises(OperationFailure) as query_failure:
        mongo_db.c.count_documents({"s": {"$regex": r"\u0041"}})
    assert query_failure.value.code == 51091
    with pytest.raises(OperationFailure) as expression_failure:
        project(mongo_db.c, {"$regexMatch": {"input": "$s", "regex": r"\u0041"}}, s="A")
    assert expression_failure.value.code == 51111


def test_regex_expression_accepts_the_u_option_and_refuses_unknown_ones(mongo_db):
    """``flagsToOptions`` accepts i, m, s, u (a no-op: UTF is always on) and x, and refuses
    any other letter with error 51108 "invalid flag in regex options"."""
    expression = {"$regexMatch": {"input": "$s", "regex": "^a", "options": "u"}}
    assert project(mongo_db.c, expression, s="abc") is True
    bad = {"$regexMatch": {"input": "$s", "regex": "^a", "options": "z"}}
    with pytest.raises(OperationFailure) as failure:
        project(mongo_db.c, bad, s="abc")
    assert failure.value.code == 51108
    assert "invalid flag in regex options: z" in str(failure.value)
