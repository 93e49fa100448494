"""Regular expressions matched by PCRE2, as MongoDB 7.0 matches them.

MongoDB (6.1 and later) compiles ``$regex``, ``$regexMatch``, ``$regexFind`` and
``$regexFindAll`` patterns with PCRE2 in UTF mode and nothing else: no ``PCRE2_UCP``
(``pcre_util::flagsToOptions``, src/mongo/util/pcre_util.cpp). So ``\\d``, ``\\w``, ``\\s``,
``\\b`` and POSIX classes (``[[:alpha:]]``) are ASCII-only unless the pattern starts with
``(*UCP)``; ``\\z``, ``\\Z``, ``\\A``, possessive quantifiers, ``\\x{263A}``, ``(?i)`` and the
other inline settings work; ``\\u0041`` is an error; case-insensitive matching folds every
Unicode letter (UTF mode), so ``(?i)é`` matches "É". Python's ``re``, which mongoeco used, differs
on each of these.

The ``pcre2`` binding compiles ``str`` patterns with ``PCRE2_UCP`` and Python's ``\\uXXXX``
syntax (``PCRE2_ALT_BSUX``) by default; its compile function takes the options to switch off, so
both are switched off here. (It keeps ``PCRE2_NEVER_BACKSLASH_C``: ``\\C`` matches one byte of a
UTF-8 sequence, which a ``str`` match cannot report, and stays refused.)
"""

from __future__ import annotations

import re
from functools import lru_cache

import pcre2
from mongoeco.core import _filtering_specials, _filtering_support, query_plan
from mongoeco.core.aggregation import array_string_expressions
from mongoeco.core.server_errors import server_error
from mongoeco.engines import _sqlite_read_execution, sqlite_query, virtual_indexes
from mongoeco.errors import OperationFailure
from mongoeco.types import Regex
from pcre2 import _cy

from .. import registry

#: PCRE2 option bits (pcre2.h).
PCRE2_ALT_BSUX = 0x00000002
PCRE2_UCP = 0x00020000
PCRE2_UTF = 0x00080000

#: Regex option letters -> PCRE2 options; "u" is accepted and changes nothing (UTF is always on).
OPTION_FLAGS = {
    "i": pcre2.IGNORECASE,
    "m": pcre2.MULTILINE,
    "s": pcre2.DOTALL,
    "x": pcre2.VERBOSE,
    "u": pcre2.NOFLAG,
}
#: The letters the ``$regex`` query operator accepts (``RegexMatchExpression::kValidRegexFlags``).
QUERY_OPTIONS = "imsx"


@lru_cache(maxsize=512)
def compile_pcre(pattern, options=""):
    """``pattern`` compiled as mongod compiles it: PCRE2, UTF, no UCP, PCRE2's own escapes.

    ``options`` holds letters of ``OPTION_FLAGS``; raises ``pcre2.PatternError``.
    """
    flags = pcre2.NOFLAG
    for letter in options:
        flags |= OPTION_FLAGS[letter]
    code = _cy.compile(pattern, int(flags) | PCRE2_UTF, PCRE2_UCP | PCRE2_ALT_BSUX)
    _cy.jit_compile(code)
    return pcre2.Pattern(code, pattern, flags, True, None)


def pcre_message(error):
    """PCRE2's own message for a compile error (the binding prefixes the position)."""
    text = str(error)
    return text.split("; ", 1)[1] if "; " in text else text


# -- the $regex query operator ------------------------------------------------------------------


@lru_cache(maxsize=256)
def compile_query_regex(pattern, options):
    """``{$regex: pattern, $options: options}``: mongoeco's option check, MongoDB's matcher.

    A letter may repeat (mongod ORs them); an unknown one is refused as mongoeco refused it.
    """
    for letter in options:
        if letter not in QUERY_OPTIONS:
            raise OperationFailure(f"Unsupported regex option: {letter}")
    try:
        return compile_pcre(pattern, options)
    except pcre2.PatternError as error:
        message = f"Regular expression is invalid: {pcre_message(error)}"
        raise server_error(message, code=51091) from error


def _compile_regex_value(self):
    """``Regex.compile`` (a BSON regular expression used in a filter, ``$pull``...)."""
    return compile_query_regex(self.pattern, "".join(f for f in self.flags if f in QUERY_OPTIONS))


def _compile_regex_condition(condition):
    return compile_query_regex(
        condition.pattern, "".join(f for f in condition.options if f in QUERY_OPTIONS)
    )


# -- $regexMatch, $regexFind, $regexFindAll -----------------------------------------------------


def compile_aggregation_regex(regex_value, options_value, *, operator):
    """The ``regex``/``options`` of a ``$regex*`` expression: options are the letters
    ``flagsToOptions`` knows (i, m, s, u, x; another is error 51108), a bad pattern is 51111."""
    if options_value is not None and not isinstance(options_value, str):
        raise OperationFailure(f"{operator} options must be a string")
    if isinstance(regex_value, Regex):
        if options_value not in (None, ""):
            raise OperationFailure(f"{operator} cannot specify options in both regex and options")
        pattern, options = regex_value.pattern, regex_value.flags
    elif isinstance(regex_value, str):
        pattern, options = regex_value, options_value or ""
    elif isinstance(regex_value, re.Pattern):
        return _ORIGINAL_AGGREGATION_COMPILE(regex_value, options_value, operator=operator)
    else:
        raise OperationFailure(f"{operator} regex must resolve to a string or regex pattern")
    for letter in options:
        if letter not in OPTION_FLAGS:
            message = f"{operator} invalid flag in regex options: {letter}"
            raise OperationFailure(message, code=51108)
    try:
        return compile_pcre(pattern, options)
    except pcre2.PatternError as error:
        message = f"Invalid Regex in {operator}: {pcre_message(error)}"
        raise server_error(message, code=51111) from error


_ORIGINAL_AGGREGATION_COMPILE = array_string_expressions._compile_aggregation_regex


# -- the SQLite pushdown of literal patterns ------------------------------------------------------

_ESCAPED_WORD_CHARACTER = re.compile(r"\\[0-9A-Za-z]")


def _literal_regex_pushdown(parse):
    """mongoeco rewrites "literal" patterns as SQL string tests, reading ``\\d`` as the letter
    "d" and ``abc$`` as "ends with abc"; ``$`` also matches before a final newline, and an
    escaped letter or digit is a class, an anchor or a back reference. Such patterns go to the
    matcher instead."""

    def parse_literal(pattern, options):
        if _ESCAPED_WORD_CHARACTER.search(pattern) or pattern.endswith("$"):
            return None
        return parse(pattern, options)

    parse_literal.__wrapped__ = parse
    return parse_literal


# -- installation -------------------------------------------------------------------------------


_TESTS = "tests/embedded/test_regex.py"
_PCRE2 = "$regex compiles with PCRE2 in UTF mode without UCP (pcre_util::flagsToOptions)"


def _patch_query_regex():
    test = f"{_TESTS}::test_regex_is_pcre2_without_ucp"
    for module in (_filtering_support, query_plan, _filtering_specials):
        attribute = "_compile_regex" if module is _filtering_specials else "compile_regex"
        registry.replace(module, attribute, compile_query_regex, rule=_PCRE2, test=test)
    registry.replace(
        Regex,
        "compile",
        _compile_regex_value,
        rule=_PCRE2 + ", a BSON regular expression value too",
        test=f"{_TESTS}::test_a_bson_regular_expression_value_is_pcre2_too",
    )
    registry.replace(
        virtual_indexes,
        "_compile_regex_condition",
        _compile_regex_condition,
        rule=_PCRE2,
        test=test,
    )
    pushdown = (
        "a pattern with an escaped letter or digit or a final $ is no literal: the PCRE2 matcher "
        "decides, not a SQL string test"
    )
    registry.replace(
        sqlite_query,
        "parse_safe_literal_regex",
        wrap=_literal_regex_pushdown,
        rule=pushdown,
        test=test,
    )
    registry.replace(
        _sqlite_read_execution,
        "parse_safe_literal_regex",
        sqlite_query.parse_safe_literal_regex,
        rule=pushdown,
        test=test,
    )


def _patch_aggregation_regex():
    registry.replace(
        array_string_expressions,
        "_compile_aggregation_regex",
        compile_aggregation_regex,
        rule="$regexMatch/$regexFind/$regexFindAll compile with PCRE2 (UTF, no UCP); options "
        "i, m, s, u, x, another is 51108; a bad pattern 51111",
        test=f"{_TESTS}::test_regex_expression_accepts_the_u_option_and_refuses_unknown_ones",
    )


OPERATORS = {}
RULES = {}

PATCHES = (_patch_query_regex, _patch_aggregation_regex)
