"""Mismatch classes already found and kept in test_regressions.py (xfail, strict).

While a class is open, a generated queryset that mismatches *and* carries the class's
signature (in its source and/or its compiled pipeline) is counted as "known" instead of
failing the run; any other mismatch fails. When the compiler is fixed, the class's regression
test XPASSes, which fails under strict=True: then delete the entry here and the xfail there.
"""

from __future__ import annotations

import re

NEGATED = r"~|\.exclude\("

#: name -> (regex the source must match, regex the pipeline must match, regression test).
KNOWN = {
    # MongoDB's $toLower/$toUpper fold ASCII letters only (documented in the README); the
    # oracle folds Unicode as PostgreSQL does.
    "ascii_case_mapping": (
        r"\b(Lower|Upper)\(",
        r"\$to(Lower|Upper)",
        "test_lower_and_upper_fold_ascii_only",
    ),
    # Django's SQLAggregateCompiler (aggregate() over a query with aggregate annotations, run
    # as a subquery) does not catch the EmptyResultSet of one aggregate's FILTER that matches
    # nothing (in [] or [None]): on backends with FILTER clauses (SQLite, PostgreSQL) the whole
    # aggregate() then gives each aggregate's empty value. This backend has none
    # (supports_aggregate_filter_clause = False) and answers as Django's CASE fallback does on
    # such backends: the other aggregates count their rows.
    # SQLite's % casts both operands to INTEGER ("The % operator casts both of its operands
    # to type INTEGER and then computes the remainder", lang_expr.html): 3.33 % 3 is 0 there.
    # MongoDB's $mod keeps the decimal remainder (0.33), as PostgreSQL's numeric % and
    # Django's Mod() on SQLite do. (The generator writes no % of floats for the same reason.)
    "integer_remainder_of_decimals": (
        r"\) % Decimal\(",
        r"\$mod",
        "test_remainder_of_a_decimal",
    ),
    "empty_aggregate_filter_over_a_subquery": (
        r"\.annotate\(a\d+=(Count|Sum|Avg|Min|Max)\("
        r".*\.aggregate\(.*filter=.*__in=\[(None(, None)*)?\]",
        r"\$group",
        "test_empty_aggregate_filter_over_an_annotated_query",
    ),
}


def known_cause(source, pipeline):
    for name, (source_pattern, pipeline_pattern, _test) in KNOWN.items():
        if re.search(source_pattern, source) and re.search(pipeline_pattern, pipeline):
            return name
    return None
