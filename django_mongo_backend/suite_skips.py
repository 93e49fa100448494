"""Django's own tests this backend skips, each set under the one-line reason it cannot pass.

``features.django_test_skips`` is this table: Django's test runner skips the named tests with
the reason shown. Only tests whose premise does not hold on MongoDB belong here (SQL text,
savepoints, ...); a test that fails because the compiler lacks something is left failing.
"""

from __future__ import annotations

SAVEPOINTS = (
    "MongoDB has no savepoints (uses_savepoints = False): an error or exception leaving an "
    "inner atomic() ends the whole test transaction, so the test's next query is refused"
)
SQL_TEXT = "asserts the SQL text or parameters of a query; this backend sends MongoDB commands"
RAW_SQL = "runs SQL text through extra() or RawSQL(), which MongoDB cannot execute"
SEQUENCE_COMMAND = (
    "counts queries: saving a new object with an integer id takes one more command here, the "
    "__schema__ sequence reservation"
)

SKIPS = {
    SAVEPOINTS: {
        "get_or_create.tests.GetOrCreateTests.test_get_or_create_invalid_params",
        "get_or_create.tests.GetOrCreateTestsWithManualPKs.test_create_with_duplicate_primary_key",
        "get_or_create.tests.GetOrCreateTestsWithManualPKs.test_savepoint_rollback",
        "get_or_create.tests.GetOrCreateThroughManyToMany.test_something",
        "get_or_create.tests.UpdateOrCreateTests.test_integrity",
        "get_or_create.tests.UpdateOrCreateTests.test_manual_primary_key_test",
        "get_or_create.tests.UpdateOrCreateTestsWithManualPKs."
        "test_create_with_duplicate_primary_key",
        "many_to_one.tests.ManyToOneTests.test_fk_assignment_and_related_object_cache",
        "proxy_models.tests.ProxyModelTests.test_proxy_included_in_ancestors",
    },
    SQL_TEXT: {
        "many_to_one.tests.ManyToOneTests.test_joined_sql",
        "model_inheritance.tests.ModelInheritanceTests.test_create_child_no_update",
        "model_inheritance.tests.ModelInheritanceTests.test_inherited_ordering_pk_desc",
        "model_forms.tests.ModelMultipleChoiceFieldTests.test_clean_does_deduplicate_values",
    },
    RAW_SQL: {
        "many_to_one.tests.ManyToOneTests.test_joined_extra",
        "defer.tests.DeferTests.test_defer_extra",
        "select_related.tests.SelectRelatedTests.test_select_related_with_extra",
    },
    SEQUENCE_COMMAND: {
        "model_inheritance.tests.ModelInheritanceTests.test_create_diamond_mti_common_parent",
    },
}
