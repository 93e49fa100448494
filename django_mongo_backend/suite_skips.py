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

IGNORE_CONFLICTS_READS_KEYS = (
    "counts queries: bulk_create(ignore_conflicts=True) reads the stored keys first (MongoDB "
    "has no insert that skips duplicates inside a transaction), and ids take the __schema__ "
    "sequence command"
)

SKIPS = {
    SQL_TEXT: {
        "many_to_one.tests.ManyToOneTests.test_joined_sql",
        "model_inheritance.tests.ModelInheritanceTests.test_create_child_no_update",
        "model_inheritance.tests.ModelInheritanceTests.test_inherited_ordering_pk_desc",
        "model_forms.tests.ModelMultipleChoiceFieldTests.test_clean_does_deduplicate_values",
        "model_fields.tests.BasicFieldTests.test_get_placeholder_sql_shim",
        "expressions_case.tests.CaseExpressionTests.test_m2m_reuse",
        "get_or_create.tests.UpdateOrCreateTests."
        "test_update_only_defaults_and_pre_save_fields_when_local_fields",
        # Counts "tenant_id" and "id" in the UPDATE's text (ours holds "_id" too).
        "composite_pk.test_update.CompositePKUpdateTests.test_save_user",
        # Counts the queries whose text holds "select".
        "foreign_object.tests.ForeignObjectModelValidationTests."
        "test_validate_constraints_success_case_single_query",
    },
    RAW_SQL: {
        "many_to_one.tests.ManyToOneTests.test_joined_extra",
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
