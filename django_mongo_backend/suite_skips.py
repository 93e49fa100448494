"""Django's own tests this backend skips, each set under the one-line reason it cannot pass.

``features.django_test_skips`` is this table: Django's test runner skips the named tests with
the reason shown. Only tests whose premise does not hold on MongoDB belong here (SQL text,
query counts that include a MongoDB-only command, ...); a test that fails because the compiler
lacks something is left failing.
"""

from __future__ import annotations

import django

SQL_TEXT = "asserts the SQL text or parameters of a query; this backend sends MongoDB commands"
RAW_SQL = "runs SQL text through extra() or RawSQL(), which MongoDB cannot execute"
SEQUENCE_COMMAND = (
    "counts queries: inserting objects with integer ids takes one more command here, the "
    "__schema__ sequence command (reserving ids, or moving past explicit ones)"
)

DELETE_SELECTS_IDS = (
    "counts queries: delete_many() takes no join or subquery, so a delete filtered through one "
    "selects the ids first (two commands)"
)

JOIN_COUNT = (
    "counts JOINs (INNER / LEFT OUTER) in the SQL text; tests/compiler/test_joins.py checks the "
    "same decisions on the pipeline: one $lookup per join, its $unwind keeping unmatched rows "
    "exactly when Django made the join LEFT OUTER"
)

IGNORE_CONFLICTS_READS_KEYS = (
    "counts queries: bulk_create(ignore_conflicts=True) reads the stored keys first (MongoDB "
    "has no insert that skips duplicates inside a transaction), and ids take the __schema__ "
    "sequence command"
)

SKIPS = {
    SQL_TEXT: {
        "many_to_one.tests.ManyToOneTests.test_joined_sql",
        "distinct_on_fields.tests.DistinctOnTests.test_basic_distinct_on",
        "model_inheritance.tests.ModelInheritanceTests.test_create_child_no_update",
        "model_inheritance.tests.ModelInheritanceTests.test_inherited_ordering_pk_desc",
        "model_forms.tests.ModelMultipleChoiceFieldTests.test_clean_does_deduplicate_values",
        "model_fields.tests.BasicFieldTests.test_get_placeholder_sql_shim",
        "expressions_case.tests.CaseExpressionTests.test_m2m_reuse",
        "expressions.tests.BasicExpressionsTests.test_subquery_sql",
        # tests/compiler/test_subqueries.py checks the same on the pipeline:
        "expressions.tests.ExistsTests.test_optimizations",
        "queries.test_db_returning.ReturningValuesTests.test_insert_returning",
        "queries.test_db_returning.ReturningValuesTests.test_insert_returning_multiple",
        "queries.test_qs_combinators.QuerySetSetOperationTests.test_exists_union",
        "queries.tests.ExistsSql.test_distinct_exists",
        "queries.tests.ExcludeTests.test_exclude_multivalued_exists",
        "queries.tests.ExcludeTests.test_exclude_m2m_through",
        "queries.tests.Queries1Tests.test_subquery_condition",
        "queries.tests.Queries1Tests.test_ticket_20250",
        "queries.tests.Queries4Tests.test_order_by_resetting",
        "queries.tests.Queries6Tests.test_col_alias_quoted",
        "queries.tests.Queries6Tests.test_nested_queries_sql",
        "aggregation.tests.AggregateAnnotationPruningTests.test_non_aggregate_annotation_pruned",
        "aggregation.tests.AggregateAnnotationPruningTests.test_referenced_aggregate_annotation_kept",
        "aggregation.tests.AggregateAnnotationPruningTests.test_referenced_composed_subquery_requires_wrapping",
        "aggregation.tests.AggregateAnnotationPruningTests.test_referenced_subquery_requires_wrapping",
        "aggregation.tests.AggregateAnnotationPruningTests.test_unreferenced_aggregate_annotation_pruned",
        "aggregation.tests.AggregateAnnotationPruningTests.test_unused_aliased_aggregate_pruned",
        "aggregation.tests.AggregateTestCase.test_add_implementation",
        "aggregation.tests.AggregateTestCase.test_aggregation_subquery_annotation",
        "aggregation.tests.AggregateTestCase.test_aggregation_subquery_annotation_related_field",
        "aggregation.tests.AggregateTestCase.test_count_star",
        "lookup.tests.LookupTests.test_in_ignore_none",
        "lookup.tests.LookupTests.test_in_ignore_none_with_unhashable_items",
        "lookup.tests.LookupTests.test_in_keeps_value_ordering",
        "lookup.tests.LookupTests.test_lookup_direct_value_rhs_unwrapped",
        "lookup.tests.LookupTests.test_textfield_exact_null",
        # Count BETWEEN/EXTRACT in the SQL; tests/compiler/test_lookups.py checks that a year
        # lookup with a constant is a range on the date in the pipeline:
        *(
            f"db_functions.datetime.test_extract_trunc.{case}.test_extract_year_{name}_lookup"
            for case in ("DateFunctionTests", "DateFunctionWithTimeZoneTests")
            for name in ("exact", "greaterthan", "lessthan")
        ),
        # The rows of these are compared with SQLite's in tests/compiler/test_windows.py.
        "aggregation.tests.AggregateAnnotationPruningTests."
        "test_referenced_window_requires_wrapping",
        "expressions_window.tests.WindowFunctionTests.test_filter_count",
        "expressions_window.tests.WindowFunctionTests.test_range_exclude_current",
        "expressions_window.tests.WindowFunctionTests.test_range_n_preceding_and_following",
        "expressions_window.tests.WindowFunctionTests.test_range_unbound",
        "expressions_window.tests.WindowFunctionTests.test_row_range_both_following",
        "expressions_window.tests.WindowFunctionTests.test_row_range_both_preceding",
        "expressions_window.tests.WindowFunctionTests.test_row_range_rank",
        "expressions_window.tests.WindowFunctionTests.test_row_range_rank_exclude_current_row",
        "expressions_window.tests.WindowFunctionTests.test_row_range_rank_exclude_group",
        "expressions_window.tests.WindowFunctionTests.test_row_range_rank_exclude_no_others",
        "expressions_window.tests.WindowFunctionTests.test_row_range_rank_exclude_ties",
        "get_or_create.tests.UpdateOrCreateTests."
        "test_update_only_defaults_and_pre_save_fields_when_local_fields",
        # Counts "tenant_id" and "id" in the UPDATE's text (ours holds "_id" too).
        "composite_pk.test_update.CompositePKUpdateTests.test_save_user",
        # Counts the queries whose text holds "select".
        "foreign_object.tests.ForeignObjectModelValidationTests."
        "test_validate_constraints_success_case_single_query",
    },
    JOIN_COUNT: {
        "queries.tests.DisjunctionPromotionTests.test_disjunction_promotion1",
        "queries.tests.DisjunctionPromotionTests.test_disjunction_promotion2",
        "queries.tests.DisjunctionPromotionTests.test_disjunction_promotion3",
        "queries.tests.DisjunctionPromotionTests.test_disjunction_promotion3_demote",
        "queries.tests.DisjunctionPromotionTests.test_disjunction_promotion4",
        "queries.tests.DisjunctionPromotionTests.test_disjunction_promotion4_demote",
        "queries.tests.DisjunctionPromotionTests.test_disjunction_promotion5_demote",
        "queries.tests.DisjunctionPromotionTests.test_disjunction_promotion6",
        "queries.tests.DisjunctionPromotionTests.test_disjunction_promotion7",
        "queries.tests.DisjunctionPromotionTests.test_disjunction_promotion_fexpression",
        "queries.tests.DisjunctionPromotionTests.test_disjunction_promotion_select_related",
        "queries.tests.JoinReuseTest.test_fk_reuse",
        "queries.tests.JoinReuseTest.test_fk_reuse_annotation",
        "queries.tests.JoinReuseTest.test_fk_reuse_disjunction",
        "queries.tests.JoinReuseTest.test_fk_reuse_order_by",
        "queries.tests.JoinReuseTest.test_fk_reuse_select_related",
        "queries.tests.JoinReuseTest.test_revfk_noreuse",
        "queries.tests.JoinReuseTest.test_revo2o_reuse",
        "queries.tests.NullJoinPromotionOrTest.test_isnull_filter_promotion",
        "queries.tests.NullJoinPromotionOrTest.test_null_join_demotion",
        "queries.tests.NullJoinPromotionOrTest.test_ticket_17886",
        "queries.tests.NullJoinPromotionOrTest.test_ticket_21366",
        "queries.tests.NullJoinPromotionOrTest.test_ticket_21748_double_negated_and",
        "queries.tests.NullJoinPromotionOrTest.test_ticket_21748_double_negated_or",
        "queries.tests.NullableRelOrderingTests.test_join_already_in_query",
        "queries.tests.Queries1Tests.test_order_by_join_unref",
        "queries.tests.Queries1Tests.test_ticket_10790_1",
        "queries.tests.Queries1Tests.test_ticket_10790_2",
        "queries.tests.Queries1Tests.test_ticket_10790_3",
        "queries.tests.Queries1Tests.test_ticket_10790_4",
        "queries.tests.Queries1Tests.test_ticket_10790_5",
        "queries.tests.Queries1Tests.test_ticket_10790_6",
        "queries.tests.Queries1Tests.test_ticket_10790_7",
        "queries.tests.Queries1Tests.test_ticket_10790_8",
        "queries.tests.Queries1Tests.test_ticket_10790_combine",
        "queries.tests.Queries4Tests.test_combine_join_reuse",
        "queries.tests.Queries6Tests.test_ticket_11320",
        "queries.tests.ReverseJoinTrimmingTest.test_reverse_trimming",
        "queries.tests.Ticket20955Tests.test_ticket_20955",
        "queries.tests.ValuesJoinPromotionTests.test_non_nullable_fk_not_promoted",
        "queries.tests.ValuesJoinPromotionTests.test_ticket_21376",
        "queries.tests.ValuesJoinPromotionTests.test_values_no_promotion_for_existing",
        "queries.tests.Ticket18785Tests.test_ticket_18785",
        "expressions.tests.BasicExpressionsTests.test_ticket_18375_join_reuse",
        "expressions.tests.BasicExpressionsTests.test_ticket_18375_kwarg_ordering",
        "expressions.tests.BasicExpressionsTests.test_ticket_18375_kwarg_ordering_2",
        "expressions.tests.BasicExpressionsTests.test_ticket_18375_chained_filters",
    },
    RAW_SQL: {
        "many_to_one.tests.ManyToOneTests.test_joined_extra",
        "distinct_on_fields.tests.DistinctOnTests.test_distinct_on_duplicated_raw_sql_annotations",
        "defer.tests.DeferTests.test_defer_extra",
        "select_related.tests.SelectRelatedTests.test_select_related_with_extra",
        "model_fields.test_jsonfield.TestQuerying.test_in_json_whitespace",
        "model_fields.test_jsonfield.TestQuerying.test_key_transform_raw_expression",
        "model_fields.test_jsonfield.TestQuerying.test_nested_key_transform_raw_expression",
    },
    SEQUENCE_COMMAND: {
        "model_inheritance.tests.ModelInheritanceTests.test_create_diamond_mti_common_parent",
        "bulk_create.tests.BulkCreateTests.test_db_default_field_excluded",
        "bulk_create.tests.BulkCreateTests.test_efficiency",
        "bulk_create.tests.BulkCreateTests.test_explicit_batch_size_efficiency",
        "bulk_create.tests.BulkCreateTests.test_explicit_batch_size_respects_max_batch_size",
        "bulk_create.tests.BulkCreateTests.test_max_batch_size",
        "bulk_create.tests.BulkCreateTests.test_set_pk_and_insert_single_item",
        "bulk_create.tests.BulkCreateTests.test_set_pk_and_query_efficiency",
        "bulk_create.tests.BulkCreateTransactionTests.test_multiple_batches",
        "bulk_create.tests.BulkCreateTransactionTests.test_no_unnecessary_transaction",
        "bulk_create.tests.BulkCreateTransactionTests.test_objs_with_and_without_pk",
    },
    IGNORE_CONFLICTS_READS_KEYS: {
        "many_to_many.tests.ManyToManyTests.test_fast_add_ignore_conflicts",
    },
    DELETE_SELECTS_IDS: {
        "delete.tests.FastDeleteTests.test_fast_delete_aggregation",
        "delete.tests.FastDeleteTests.test_fast_delete_full_match",
        "delete.tests.FastDeleteTests.test_fast_delete_joined_qs",
    },
}

#: Tests above that Django 5.2 does not have (its runner fails on a skip naming a missing test).
NEWER_THAN_DJANGO_5 = frozenset(
    {
        "many_to_one.tests.ManyToOneTests.test_joined_sql",
        "many_to_one.tests.ManyToOneTests.test_joined_extra",
        "distinct_on_fields.tests.DistinctOnTests.test_distinct_on_duplicated_raw_sql_annotations",
        "model_fields.tests.BasicFieldTests.test_get_placeholder_sql_shim",
        "model_fields.test_jsonfield.TestQuerying.test_in_json_whitespace",
        "foreign_object.tests.ForeignObjectModelValidationTests."
        "test_validate_constraints_success_case_single_query",
        "bulk_create.tests.BulkCreateTests.test_db_default_field_excluded",
        "bulk_create.tests.BulkCreateTests.test_max_batch_size",
        "bulk_create.tests.BulkCreateTransactionTests.test_multiple_batches",
        "bulk_create.tests.BulkCreateTransactionTests.test_no_unnecessary_transaction",
        "bulk_create.tests.BulkCreateTransactionTests.test_objs_with_and_without_pk",
    }
)
if django.VERSION < (6, 0):
    SKIPS = {reason: names - NEWER_THAN_DJANGO_5 for reason, names in SKIPS.items()}
