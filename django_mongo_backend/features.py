"""DatabaseFeatures: what this backend can do, stated honestly (Django's tests skip by these)."""

from __future__ import annotations

from django.db.backends.base.features import BaseDatabaseFeatures
from django.utils.functional import cached_property

from .deployment import transactions_known
from .suite_skips import SKIPS


class DatabaseFeatures(BaseDatabaseFeatures):
    minimum_database_version = (7, 0)

    # Storage and types.
    has_native_uuid_field = True  # BSON binary subtype 4
    has_native_duration_field = False  # stored as int microseconds
    has_native_json_field = True  # stored as documents
    supports_json_field = True
    supports_primitives_in_json_field = True
    has_native_boolean_field = True
    supports_timezones = False  # datetimes are stored in UTC
    supports_unlimited_charfield = True
    supports_no_precision_decimalfield = True
    supports_index_on_text_field = True
    supports_collation_on_charfield = False
    supports_collation_on_textfield = False
    # BSON datetimes keep milliseconds: microseconds are truncated on save.
    supports_microsecond_precision = False
    time_cast_precision = 3  # a datetime cast to a time keeps the milliseconds stored
    interprets_empty_strings_as_nulls = False

    # Keys and inserts.
    can_return_columns_from_insert = True  # ids come from __schema__ before the insert
    can_return_rows_from_bulk_insert = True
    has_bulk_insert = True
    supports_unspecified_pk = False
    supports_forward_references = True
    # bulk_create(ignore_conflicts=True): documents colliding on a unique index are left out
    # before the insert (compiler/ignore_conflicts.py).
    supports_ignore_conflicts = True
    # bulk_create(update_conflicts=True): one upsert per document on its unique fields
    # (compiler/update_conflicts.py).
    supports_update_conflicts = True
    supports_update_conflicts_with_target = True
    supports_default_keyword_in_insert = False
    supports_default_keyword_in_bulk_insert = False
    supports_sequence_reset = True
    related_fields_match_type = True

    # Transactions: multi-document transactions need a replica set, mongos or the embedded
    # server. MongoDB has no savepoints; ours are positions in a log of the transaction's
    # writes, replayed into a new server transaction on rollback (docs/transactions.rst).
    can_release_savepoints = True
    atomic_transactions = True
    can_rollback_ddl = False
    autocommits_when_autocommit_is_off = False

    # No foreign keys enforced by the server.
    supports_foreign_keys = False
    can_create_inline_fk = False
    indexes_foreign_keys = True
    can_introspect_check_constraints = False
    can_defer_constraint_checks = False

    # Indexes and constraints.
    supports_partial_indexes = True
    supports_functions_in_partial_indexes = False
    supports_covering_indexes = False
    supports_expression_indexes = False
    supports_deferrable_unique_constraints = False
    # A unique index on a nullable field leaves null out (schema.py: a partial filter).
    supports_nullable_unique_constraints = True
    supports_partially_nullable_unique_constraints = False
    supports_nulls_distinct_unique_constraints = False
    allows_multiple_constraints_on_same_fields = False
    can_rename_index = False
    supports_tablespaces = False
    supports_comments = False
    supports_comments_inline = False
    # Stored: computed by the server on every write; virtual: on every read
    # (compiler/generated.py).
    supports_stored_generated_columns = True
    supports_virtual_generated_columns = True
    supports_on_delete_db_cascade = False
    supports_on_delete_db_default = False
    supports_on_delete_db_null = False

    # Queries.
    update_can_self_select = False  # updates filtered through joins pre-select the ids
    # select_for_update() claims the documents it read with a write (compiler/row_locks.py),
    # where there are transactions (see the properties below).
    has_select_for_no_key_update = False
    supports_select_for_update_with_limit = True
    # distinct(*fields): $sort, then $group keeping $first of each (compiler/distinct_on.py).
    can_distinct_on_fields = True
    # Combined querysets: $unionWith, then $group for the set semantics; inside a transaction
    # (which refuses $unionWith) one aggregate per queryset, combined by the client.
    supports_select_union = True
    supports_select_intersection = True
    supports_select_difference = True
    supports_slicing_ordering_in_compound = True  # each part keeps its own $sort/$limit
    supports_over_clause = True
    supports_frame_range_fixed_distance = True
    supports_frame_exclusion = True  # emulated (compiler/windows.py: MongoDB has none)
    # Only steers how Django renders SQL (FILTER (WHERE ...) or a CASE), which never runs here;
    # the compiler translates Aggregate(filter=...) itself.
    supports_aggregate_filter_clause = False
    supports_temporal_subtraction = True  # dates: $subtract in ms; times: parsed from text
    supports_any_value = True  # $max: a non-null value of the group, no array collected
    supports_bit_aggregations = True  # values collected, folded with $bitAnd/$bitOr/$bitXor
    supports_subqueries_in_group_by = True  # after $group they read the grouped keys
    supports_boolean_expr_in_select_clause = True
    supports_comparing_boolean_expr = True
    supports_regex_backreferencing = False
    supports_date_lookup_using_string = False
    # Only steer Django's SQL rendering of tuple lookups, which never runs: the compiler turns
    # them into conditions on each column (compiler/composite_keys.py) either way. A
    # comparison (gt, lt...) of a composite key with a subquery is refused.
    supports_tuple_lookups = True
    supports_tuple_comparison_against_subquery = False
    has_case_insensitive_like = False
    nulls_order_largest = False
    order_by_nulls_first = True  # null and missing sort below every value
    supports_order_by_nulls_modifier = False
    requires_explicit_null_ordering_when_grouping = False
    can_use_chunked_reads = True
    allow_sliced_subqueries_with_in = True  # the subquery runs first, or in $lookup, sliced
    greatest_least_ignores_nulls = True
    supports_explaining_query_execution = True
    supported_explain_formats = {"JSON"}
    # Only steers Django's SQL rendering of XOR, which never runs here; the compiler translates
    # Q(...) ^ Q(...) itself.
    supports_logical_xor = False
    supports_json_field_contains = True  # compiler/json_fields.py: PostgreSQL's @> and <@ rules
    # ...so data__key__contains={...} does not match [{...}]: only an array contains elements.
    json_key_contains_list_matching_requires_list = True
    has_json_object_function = True  # JSONObject -> $arrayToObject

    # Tests.
    can_clone_databases = True
    test_db_allows_multiple_connections = True
    supports_inspectdb = True

    @cached_property
    def supports_table_check_constraints(self):
        """CheckConstraints are clauses of the collection's validator: ENFORCE_SCHEMA only."""
        return self.connection.enforce_schema

    @cached_property
    def supports_column_check_constraints(self):
        """Positive integer fields get ``minimum: 0`` in the validator: ENFORCE_SCHEMA only."""
        return self.connection.enforce_schema

    @cached_property
    def supports_transactions(self):
        """Multi-document transactions: replica set members (the embedded server is the primary
        of a one-member set) and mongos; a standalone mongod has none.

        Known from the settings when they admit no other kind of server (``embedded://``, a
        ``replicaSet`` name, ``loadBalanced``: deployment.py), without a round trip, so it can
        be read at import time; otherwise the server's ``hello`` says."""
        if transactions_known(self.connection.settings_dict):
            return True
        connection = self.connection
        with connection.temporary_connection():
            hello = connection.connection.client.admin.command("hello")
            return bool(hello.get("setName")) or hello.get("msg") == "isdbgrid"

    @cached_property
    def has_select_for_update(self):
        return self.supports_transactions

    @property
    def has_select_for_update_nowait(self):
        return self.has_select_for_update

    @property
    def has_select_for_update_skip_locked(self):
        return self.has_select_for_update

    @property
    def has_select_for_update_of(self):
        return self.has_select_for_update

    @cached_property
    def uses_savepoints(self):
        """Savepoints live in the transaction's write log, so wherever transactions do."""
        return self.supports_transactions

    # Django's own test suite (tests/django_suite): what cannot pass here, and why.
    django_test_skips = SKIPS  # suite_skips.py: each test under its reason
    django_test_expected_failures = set()
