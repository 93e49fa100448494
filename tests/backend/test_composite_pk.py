"""Composite primary keys (``CompositePrimaryKey``) stored as a compound ``_id``, tuple lookups
and multi-column relations (django_mongo_backend/compiler/composite_keys.py, joins.py): each
scenario runs on this backend and on SQLite, and the rows must be the same.
"""

from __future__ import annotations

import pytest
from django.core.exceptions import FieldError
from django.db import IntegrityError, NotSupportedError, connection, transaction
from django.db.models import Count, F, OuterRef, Q, Subquery
from django.db.models.fields.tuple_lookups import TupleGreaterThan, TupleIn
from django.test.utils import CaptureQueriesContext

from tests.backend.sqlite_tables import sqlite_tables
from tests.testapp.models import Member, Tenant, Visit

BOTH = ["default", "sqlite"]
pytestmark = pytest.mark.django_db(transaction=True, databases=BOTH)
MODELS = [Tenant, Member, Visit]


@pytest.fixture(autouse=True)
def tables():
    with sqlite_tables(MODELS):
        yield


def populate(alias):
    """Two tenants; members (1, 1..4) and (2, 1..2), one rank NULL; visits, one dangling
    (no such member) and one with a NULL member number."""
    first = Tenant.objects.using(alias).create(id=1, name="first")
    second = Tenant.objects.using(alias).create(id=2, name="second")
    members = [
        Member(tenant=first, number=1, name="a", rank=3),
        Member(tenant=first, number=2, name="b", rank=None),
        Member(tenant=first, number=3, name="c", rank=1),
        Member(tenant=first, number=4, name="d", rank=2),
        Member(tenant=second, number=1, name="e", rank=5),
        Member(tenant=second, number=2, name="f", rank=4),
    ]
    Member.objects.using(alias).bulk_create(members)
    visits = [
        Visit(tenant_ref=first.pk, member_number=1, note="v1"),
        Visit(tenant_ref=first.pk, member_number=1, note="v2"),
        Visit(tenant_ref=second.pk, member_number=2, note="v3"),
        Visit(tenant_ref=first.pk, member_number=9, note="dangling"),
        Visit(tenant_ref=first.pk, member_number=None, note="no member"),
    ]
    for visit in visits:  # (Django 5.2's bulk_create() fetches a ForeignObject's target)
        visit.save(using=alias)
    return first, second


def on_both(scenario):
    """``scenario(alias)`` on this backend and on SQLite (populated alike): both results."""
    results = []
    for alias in BOTH:
        populate(alias)
        results.append(scenario(alias))
    return results


def same_on_both(scenario):
    ours, sqlite = on_both(scenario)
    assert ours == sqlite
    return ours


def members(alias):
    return Member.objects.using(alias)


def keys(queryset):
    return sorted(queryset.values_list("tenant_id", "number"))


def test_the_key_is_the_document_id_in_field_order_and_the_components_stay_top_level():
    tenant = Tenant.objects.create(name="t")
    member = Member.objects.create(tenant=tenant, number=7, name="x")
    assert member.pk == (tenant.pk, 7)
    document = connection.connection.database["testapp_member"].find_one()
    assert list(document) == ["_id", "tenant_id", "number", "name", "rank"]
    assert list(document["_id"].items()) == [("tenant_id", tenant.pk), ("number", 7)]
    assert (document["tenant_id"], document["number"]) == (tenant.pk, 7)


def test_the_id_index_refuses_a_second_document_with_the_same_key():
    tenant = Tenant.objects.create(name="t")
    Member.objects.create(tenant=tenant, number=1)
    Member.objects.create(tenant=tenant, number=2)  # another key: fine
    with pytest.raises(IntegrityError), transaction.atomic():
        Member.objects.create(tenant=tenant, number=1)
    assert Member.objects.count() == 2


def test_no_sequence_and_no_index_beyond_id_for_the_key():
    connection.ensure_connection()
    indexes = connection.connection.database["testapp_member"].index_information()
    # _id, and the foreign key's own index on tenant_id: nothing for the key itself.
    assert sorted(spec["key"][0][0] for spec in indexes.values()) == ["_id", "tenant_id"]
    sequences = connection.connection.database["__schema__"]
    assert sequences.find_one({"name": "testapp_member"}) is None
    assert sequences.find_one({"name": "testapp_tenant"}) is not None


def test_a_filter_on_the_whole_key_is_one_equality_on_id():
    tenant = Tenant.objects.create(name="t")
    Member.objects.create(tenant=tenant, number=1)
    with CaptureQueriesContext(connection) as queries:
        assert Member.objects.get(pk=(tenant.pk, 1)).number == 1
    command = queries.captured_queries[-1]["sql"]
    assert f'{{"_id": {{"$eq": {{"tenant_id": {tenant.pk}, "number": 1}}}}}}' in command
    query = Member.objects.filter(pk__in=[(tenant.pk, 1), (tenant.pk, 2)]).query
    assert '"_id": {"$in": [{"tenant_id"' in str(query)


@pytest.mark.parametrize(
    "condition",
    [
        Q(pk=(1, 2)),
        ~Q(pk=(1, 2)),
        Q(pk__in=[(1, 2), (2, 1), (3, 3)]),
        ~Q(pk__in=[(1, 2), (2, 1)]),
        Q(pk__in=[(1, None), (2, 2)]),
        Q(pk__gt=(1, 2)),
        Q(pk__gte=(1, 2)),
        Q(pk__lt=(2, 1)),
        Q(pk__lte=(1, 3)),
        ~Q(pk__gt=(1, 2)),
        Q(pk__gt=(1, None)),
        ~Q(pk__lt=(2, None)),
        Q(pk__isnull=False),
        Q(pk__isnull=True),
        Q(tenant=1),
        Q(number=2) | Q(pk=(1, 3)),
    ],
    ids=str,
)
def test_tuple_lookups_match_the_rows_sqlite_matches(condition):
    same_on_both(lambda alias: keys(members(alias).filter(condition)))


def test_in_a_subquery_of_keys():
    def scenario(alias):
        ranked = members(alias).filter(rank__gte=3).values("pk")
        return keys(members(alias).filter(pk__in=ranked)), keys(
            members(alias).exclude(pk__in=ranked)
        )

    same_on_both(scenario)


def test_ordering_by_the_key_and_reading_it_as_a_tuple():
    def scenario(alias):
        return (
            list(members(alias).order_by("-pk").values_list("pk", "name")),
            list(members(alias).order_by("pk").values("pk")),
            [member.pk for member in members(alias).order_by("pk")],
        )

    ours = same_on_both(scenario)
    assert ours[0][0] == ((2, 2), "f")


def test_save_updates_the_other_fields_and_a_new_key_inserts():
    def scenario(alias):
        member = members(alias).get(pk=(1, 1))
        member.name = "renamed"
        member.save()
        member.number = 10  # Django: a new key is a new row
        member.save()
        return sorted(members(alias).values_list("tenant_id", "number", "name"))

    same_on_both(scenario)


def test_update_and_delete_by_key_and_by_relation():
    def scenario(alias):
        updated = members(alias).filter(pk__in=[(1, 1), (2, 2)]).update(name="u")
        deleted = members(alias).filter(pk__gt=(1, 3)).delete()
        return updated, deleted, sorted(members(alias).values_list("number", "name"))

    same_on_both(scenario)


def test_updating_a_key_component_is_refused():
    populate("default")
    with pytest.raises(NotSupportedError, match="immutable _id"):
        Member.objects.filter(pk=(1, 1)).update(number=5)
    assert keys(Member.objects.all())[0] == (1, 1)


def test_deleting_a_tenant_cascades_to_its_members_and_their_visits():
    def scenario(alias):
        deleted = Tenant.objects.using(alias).filter(name="first").delete()
        return deleted, keys(members(alias)), sorted(Visit.objects.using(alias).values_list("note"))

    same_on_both(scenario)


def test_a_multi_column_relation_joins_on_the_key():
    def scenario(alias):
        visits = Visit.objects.using(alias)
        return (
            sorted(
                (v.note, v.member.name)
                for v in visits.select_related("member").exclude(member=None)
            ),
            sorted(visits.filter(member__name="a").values_list("note", flat=True)),
            sorted(visits.filter(member__rank__gt=3).values_list("note", flat=True)),
            sorted(visits.values_list("note", "member__name")),
            keys(members(alias).filter(visits__note__startswith="v")),
            sorted(
                members(alias).annotate(n=Count("visits")).values_list("tenant_id", "number", "n")
            ),
        )

    same_on_both(scenario)


def test_a_join_on_the_whole_key_matches_id():
    query = str(Visit.objects.filter(member__name="a").query)
    assert '"localField": "__key_testapp_member", "foreignField": "_id"' in query


def test_reverse_managers_and_prefetching():
    def scenario(alias):
        member = members(alias).get(pk=(1, 1))
        prefetched = [
            (m.pk, sorted(v.note for v in m.visits.all()))
            for m in members(alias).prefetch_related("visits").order_by("pk")
        ]
        forward = sorted(
            (v.note, v.member and v.member.pk)
            for v in Visit.objects.using(alias).prefetch_related("member")
        )
        return sorted(member.visits.values_list("note", flat=True)), prefetched, forward

    same_on_both(scenario)


def test_tuple_lookups_on_expressions_and_sliced_subqueries():
    def scenario(alias):
        lhs = (F("tenant_id"), F("rank"))
        return (
            keys(members(alias).filter(TupleGreaterThan(lhs, (1, 2)))),
            keys(members(alias).filter(TupleIn(lhs, [(1, 3), (2, 4), (1, None)]))),
            keys(members(alias).exclude(TupleIn(lhs, [(1, 3), (2, 4)]))),
        )

    same_on_both(scenario)
    # A sliced subquery keeps its slice: the two highest ranks, (2, 1) and (2, 2), as SQL's
    # row IN gives (and SQLite on Django 6.1; Django 5.2's SQLite fallback adds the key
    # equality to the sliced subquery inside an EXISTS, which matches five members).
    top = Member.objects.filter(rank__isnull=False).order_by("-rank").values("pk")[:2]
    assert keys(Member.objects.filter(pk__in=top)) == [(2, 1), (2, 2)]
    assert keys(Member.objects.filter(pk=top[:1])) == [(2, 1)]


def test_select_for_update_claims_documents_by_their_compound_id():
    populate("default")
    with transaction.atomic():
        locked = list(Member.objects.select_for_update().filter(tenant=1).order_by("pk"))
    assert [member.pk for member in locked] == [(1, 1), (1, 2), (1, 3), (1, 4)]


def test_grouping_by_the_key():
    def scenario(alias):
        return (
            list(members(alias).values("pk").annotate(n=Count("visits")).order_by("-pk")),
            list(
                members(alias)
                .values("pk")
                .annotate(n=Count("visits", filter=Q(visits__note="v2")))
                .order_by("pk")
            ),
        )

    same_on_both(scenario)


def test_django_errors_raised_where_its_sql_compilers_raise_them():
    with pytest.raises(ValueError, match="cannot be used as a lookup value"):
        Member.objects.filter(name__gt=F("pk")).count()
    with pytest.raises(FieldError, match="Composite primary keys expressions are not allowed"):
        Member.objects.update(name=F("pk"))
    inner = Member.objects.filter(pk=OuterRef("number")).values("number")[:1]
    with pytest.raises(ValueError, match="only work with composite expressions"):
        Member.objects.filter(number=Subquery(inner)).count()
    with pytest.raises(NotSupportedError, match='"gt" cannot be used to target composite'):
        Member.objects.filter(pk__gt=Member.objects.values("pk")[:1]).count()


def test_introspection_names_the_key_columns():
    populate("default")
    with connection.cursor() as cursor:
        introspection = connection.introspection
        assert introspection.get_primary_key_columns(cursor, "testapp_member") == [
            "tenant_id",
            "number",
        ]
        constraints = introspection.get_constraints(cursor, "testapp_member")
        primary = [c for c in constraints.values() if c["primary_key"]]
        assert [c["columns"] for c in primary] == [["tenant_id", "number"]]
        names = [
            info.name for info in introspection.get_table_description(cursor, "testapp_member")
        ]
    assert None not in names


def test_bulk_create_ignoring_and_updating_conflicts_on_the_key():
    def scenario(alias):
        stored = members(alias)
        stored.bulk_create(
            [Member(tenant_id=1, number=1, name="dup"), Member(tenant_id=1, number=9, name="n")],
            ignore_conflicts=True,
        )
        stored.bulk_create(
            [Member(tenant_id=1, number=2, name="upd"), Member(tenant_id=2, number=9, name="m")],
            update_conflicts=True,
            unique_fields=["tenant", "number"],
            update_fields=["name"],
        )
        return sorted(stored.values_list("tenant_id", "number", "name"))

    same_on_both(scenario)
