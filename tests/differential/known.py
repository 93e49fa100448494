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
    "lower_upper_of_null": (r"\b(Lower|Upper)\(", r"\$to(Lower|Upper)", "test_lower_of_null"),
    "exclude_multivalued_subquery_reads_outer_collection": (
        NEGATED,
        r'"\$?U\d+\.',
        "test_exclude_across_reverse_fk",
    ),
    "negated_comparison_with_null_is_true": (
        NEGATED,
        r'"\$(nor|not)"',
        "test_negated_comparison_of_null_annotation",
    ),
    "not_in_subquery_with_null": (
        r"pk__in=\w+\.objects",
        r'"\$(nor|not)"',
        "test_not_in_subquery_containing_null",
    ),
    "nulls_first_last_flag_reads_key_of_same_stage": (
        r"nulls_(first|last)",
        r'"__n\d+": \{"\$cond": \[\{"\$gt": \["\$__o\d+"',
        "test_nulls_last_with_distinct",
    ),
    "in_as_aggregation_expression_wraps_list": (
        r"__in=",
        r'"\$in": \["[^"]*", \[\{"\$literal": \[',
        "test_in_inside_case_when",
    ),
    "having_or_row_condition_not_grouped": (
        r"\.(filter|exclude)\(",
        r'"\$group".*"\$match": \{"\$expr".*"\$(T\d+|differential_\w+)\.',
        "test_or_of_aggregate_and_joined_column",
    ),
    "embedded_server_empty_in": (r"__in=\[", r'"\$in": \[\]', "test_empty_in_list"),
}


def known_cause(source, pipeline):
    for name, (source_pattern, pipeline_pattern, _test) in KNOWN.items():
        if re.search(source_pattern, source) and re.search(pipeline_pattern, pipeline):
            return name
    return None
