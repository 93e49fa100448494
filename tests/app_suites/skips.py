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
_SAVEPOINT_COUNTS = (
    "assertNumQueries around a create in ATOMIC_REQUESTS' savepoint: SQLite's count has the "
    "SAVEPOINT, ROLLBACK TO and RELEASE statements, which this backend does not send (its "
    "savepoints are positions in the transaction's write log), while it sends the "
    "__schema__ id sequence command (and, on rollback, the command giving the id back)"
)
_MICROSECONDS = (
    "compares a stored datetime with microseconds: BSON dates keep milliseconds, so the value "
    "read back differs below the millisecond"
)

_GUARDIAN_TESTS = "guardian/testapp/tests/"
_LONG_FIXTURE_TRANSACTION = (
    "setUpClass writes about 10,000 documents (100 users, 50 groups, 500 projects, their object "
    "permissions) inside the class-wide transaction of Django's TestCase, and the tests then "
    "assert wall-clock limits (under 0.1 s): MongoDB aborts a transaction older than "
    "transactionLifetimeLimitSeconds (60 s by default), which these writes outlast on the "
    "embedded server (more than 15 minutes here, 10 s on SQLite); SQLite's transactions have no "
    "such limit"
)
_UUID_FROM_TEXT = (
    "get_objects_for_user() on a model with a UUID primary key matches it against "
    "Cast(object_pk, UUIDField()); MongoDB 7.0's $convert builds no binData from text "
    "(conversions between binData and string are new in 8.0), so the backend refuses the Cast"
)
_PATCHED_CLOCK = (
    "patches time.monotonic for the whole process (guardian.utils.time is the time module) "
    "with 23 values; pymongo reads the clock for every command it sends, so they run out "
    "(StopIteration inside the driver) before guardian's loop reads them"
)
_GUARDIAN_COUNTS = (
    "assertNumQueries around assign_perm: SQLite's count has get_or_create's SAVEPOINT and "
    "RELEASE statements, which this backend does not send (its savepoints are positions in "
    "the transaction's write log), and it sends the __schema__ id sequence command"
)
_GUARDIAN_BULK_COUNTS = (
    "assertNumQueries around a bulk_create: the integer ids are reserved from the __schema__ "
    "sequence first (one more command; Django's own suite skips its tests of this premise)"
)
_GUARDIAN_BULK_ASSIGN_COUNT = (
    "assertNumQueries around bulk_assign_perm: the __schema__ id sequence command (as above), "
    "and the user's groups, a subquery of the group permissions' filter, are read first by "
    "this backend (one more command)"
)
_ALLAUTH_ACTIVITY = "tests/apps/headless/usersessions/test_activity.py::"
#: The endpoints test_activity.py parametrizes its tracking tests with.
_ALLAUTH_ENDPOINTS = (
    "headless:account:current_session-access-token-False",
    "headless:account:current_session-session-token-False",
    "headless:tokens:refresh-refresh-token-False",
    "headless_ninja:jwt_resource-access-token-True",
    "headless_ninja:session_resource-session-token-True",
    "headless_rest_framework_jwt_resource-access-token-True",
    "headless_rest_framework_session_resource-session-token-True",
)
_ALLAUTH_JWT_RESOURCES = ("headless_rest_framework_jwt_resource", "headless_ninja:jwt_resource")
_ALLAUTH_SAVEPOINT_COUNT = (
    "django_assert_num_queries(7): its count has the SAVEPOINT and RELEASE statements of the "
    "activity tracking's atomic() (the test's own comment says so), which this backend does "
    "not send (its savepoints are positions in the transaction's write log)"
)
_BARRIER_NEVER_RELEASED = (
    "eight threads meet at a threading.Barrier(8) in every lookup of the code, and the "
    "successful redemption's on_commit hook looks the code up a ninth time, waiting for seven "
    "more threads that never come: it hangs on any database with concurrent writers (the "
    "test skips itself on SQLite, the maintainers' test settings)"
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
    "django-guardian": {
        **{
            f"{_GUARDIAN_TESTS}test_indexes.py::IndexVsNoIndexPerformanceTestCase::{name}": (
                _LONG_FIXTURE_TRANSACTION
            )
            for name in (
                "test_bulk_permission_checks_timing",
                "test_get_objects_for_user_timing",
                "test_object_permission_listing_timing",
                "test_permission_existence_at_scale_timing",
                "test_user_permission_lookup_timing",
            )
        },
        **{
            f"{_GUARDIAN_TESTS}test_shortcuts.py::{name}": _UUID_FROM_TEXT
            for name in (
                "GetObjectsForUser::test_uuid_primary_key",
                "GetObjectsForUser::test_uuid_primary_key_accept_global_perms_false_bug_fix",
                "GetObjectsForUser::test_uuid_primary_key_with_any_perm",
                "GetObjectsForUser::test_uuid_primary_key_with_group_values",
                "NonStandardPKTests::test_comparison_with_standard_pk_types",
            )
        },
        **{
            f"{_GUARDIAN_TESTS}test_orphans.py::OrphanedObjectPermissionsTest::{name}": (
                _PATCHED_CLOCK
            )
            for name in (
                "test_clean_perms_with_max_duration_secs",
                "test_clean_perms_command_with_max_duration_secs",
            )
        },
        **{
            f"{_GUARDIAN_TESTS}test_managers.py::TestManagerAssignPerm::{name}": reason
            for name, reason in (
                ("test_user_assign_perm", _GUARDIAN_COUNTS),
                ("test_group_assign_perm", _GUARDIAN_COUNTS),
                ("test_user_assign_perm_to_many", _GUARDIAN_BULK_COUNTS),
                ("test_group_assign_perm_to_many", _GUARDIAN_BULK_COUNTS),
                ("test_user_bulk_assign_perm", _GUARDIAN_BULK_ASSIGN_COUNT),
                ("test_group_bulk_assign_perm", _GUARDIAN_BULK_COUNTS),
            )
        },
        f"{_GUARDIAN_TESTS}test_core.py::ObjectPermissionCheckerTest::test_prefetch_performance": (
            "counts the queries whose SQL text ends with 'FROM \"auth_group\"'; this backend "
            "sends MongoDB commands, so none matches"
        ),
    },
    "django-filter": {},
    "django-import-export": {},
    "djangorestframework": {
        "tests/test_generics.py::TestRootView::test_post_root_view": _ID_SEQUENCE,
        "tests/test_generics.py::TestRootView::test_post_cannot_set_id": _ID_SEQUENCE,
        "tests/test_atomic_requests.py::DBTransactionTests::test_no_exception_commit_transaction": (
            _ID_SEQUENCE
        ),
        **{
            f"tests/test_atomic_requests.py::{name}": _SAVEPOINT_COUNTS
            for name in (
                "DBTransactionErrorTests::test_generic_exception_delegate_transaction_management",
                "DBTransactionAPIExceptionTests::test_api_exception_rollback_transaction",
                "MultiDBTransactionAPIExceptionTests::test_api_exception_rollback_transaction",
            )
        },
        "tests/test_authtoken.py::AuthTokenTests::"
        "test_token_proxy_delete_sends_signals_for_the_concrete_token": _MICROSECONDS,
        "tests/test_filters.py::SearchFilterTests::test_search_field_with_additional_transforms": (
            "its TrimA transform is SQL text (as_sql returns \"trim(%s, 'a')\"); MongoDB runs no "
            "SQL, and the backend refuses it with NotSupportedError naming it"
        ),
    },
    "django-allauth": {
        **{
            f"{_ALLAUTH_ACTIVITY}{name}[{endpoint}]": _MICROSECONDS
            for name in (
                "test_rejected_credentials_do_not_track",
                "test_usersessions_not_installed",
            )
            for endpoint in _ALLAUTH_ENDPOINTS
        },
        **{
            f"{_ALLAUTH_ACTIVITY}{name}[{resource}]": _MICROSECONDS
            for name in (
                "test_stateless_access_after_session_deleted",
                "test_expired_access_token_does_not_track",
            )
            for resource in _ALLAUTH_JWT_RESOURCES
        },
        **{
            f"{_ALLAUTH_ACTIVITY}test_authentication_query_counts[True-True-7-{resource}]": (
                _ALLAUTH_SAVEPOINT_COUNT
            )
            for resource in _ALLAUTH_JWT_RESOURCES
        },
        # Not rotated, the refresh token's expires_at is compared with the in-memory one.
        "tests/apps/idp/oidc/test_tokens.py::test_refresh_token_expiry[3600-False]": _MICROSECONDS,
        "tests/apps/idp/oidc/test_authorization.py::"
        "test_authorization_code_concurrent_redemption": _BARRIER_NEVER_RELEASED,
    },
}
