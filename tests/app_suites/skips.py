"""Tests of the apps' suites skipped on MongoDB, each because its premise does not hold there.

``{app name: {test id: reason}}``: test ids as the app's runner names them (pytest node ids,
or unittest ids for Django's runner). Only the MongoDB run applies them; the SQLite run is the
app's suite as its maintainers run it. A skip here is a statement about MongoDB, not a way to
hide a backend bug: those stay failures, listed in docs/app-suites.rst.
"""

_JOIN_MANAGER = (
    "JoinManager.join() writes a temporary table with raw PostgreSQL (CREATE TEMPORARY TABLE "
    "... AS SELECT, then a JOIN on it); MongoDB runs no SQL (SQLite rejects it too)"
)
_SUBCLASS_SQL = (
    "InheritanceQuerySet.instance_of() filters with extra(where=[child_table.ptr IS NOT "
    "NULL]), and test_extras_descend selects extra(select=SQL); MongoDB runs no SQL"
)
_MODEL_UTILS_TESTS = "tests/test_managers/"
_ID_SEQUENCE = (
    "assertNumQueries(1) around a create: an integer AutoField's id is reserved from the "
    "__schema__ sequence before the insert (2 commands; Django's own suite skips its tests "
    "of this premise, suite_skips.py)"
)
_MICROSECONDS = (
    "compares a stored datetime with microseconds: BSON dates keep milliseconds, so the value "
    "read back differs below the millisecond"
)

SKIPS: dict[str, dict[str, str]] = {
    "django-model-utils": {
        **{
            f"{_MODEL_UTILS_TESTS}test_join_manager.py::JoinManagerTest::{name}": _JOIN_MANAGER
            for name in (
                "test_join_with_other_qs",
                "test_reverse_join",
                "test_self_join",
                "test_self_join_with_where_statement",
            )
        },
        **{
            f"{_MODEL_UTILS_TESTS}test_inheritance_manager.py::"
            f"InheritanceManagerUsingModelsTests::{name}": _SUBCLASS_SQL
            for name in (
                "test_can_fetch_limited_class_grandchildren",
                "test_extras_descend",
                "test_limit_to_child_fetches_grandchildren_as_child_class",
                "test_limit_to_specific_grandchild_class",
                "test_limit_to_specific_subclass",
                "test_limit_to_specific_subclass_with_custom_db_column",
                "test_select_subclasses_interaction_with_instance_of",
                "test_selecting_multiple_instance_classes",
                "test_selecting_multiple_instance_classes_including_grandchildren",
            )
        },
    },
    "django-filter": {},
    "djangorestframework": {
        "tests/test_generics.py::TestRootView::test_post_root_view": _ID_SEQUENCE,
        "tests/test_generics.py::TestRootView::test_post_cannot_set_id": _ID_SEQUENCE,
        "tests/test_authtoken.py::AuthTokenTests::"
        "test_token_proxy_delete_sends_signals_for_the_concrete_token": _MICROSECONDS,
        "tests/test_filters.py::SearchFilterTests::test_search_field_with_additional_transforms": (
            "its TrimA transform is SQL text (as_sql returns \"trim(%s, 'a')\"); MongoDB runs no "
            "SQL, and the backend refuses it with NotSupportedError naming it"
        ),
    },
}
