"""Window expressions (``windows.py``): rows compared with SQLite's for the same querysets.

The querysets run on both aliases of the differential app (``tests/differential``: MongoDB
through this backend, SQLite as the oracle), over its data full of NULLs and ties, which is
where window functions differ: peers in RANK and in SQL's default frame (RANGE UNBOUNDED
PRECEDING .. CURRENT ROW ends at the current row's last peer), NULLs first ascending.
"""

from __future__ import annotations

import pytest
from django.core.exceptions import FieldError
from django.db import NotSupportedError
from django.db.models import Max, RowRange, StdDev, Sum, ValueRange, Variance, Window
from django.db.models.expressions import WindowFrameExclusion
from django.db.models.functions import Rank

from tests.compiler.golden import pipeline
from tests.differential.compare import compare
from tests.differential.conftest import DB, differential_data  # noqa: F401 (fixture)
from tests.differential.models import Book
from tests.differential.queries import Spec

pytestmark = [
    pytest.mark.django_db(**DB),
    pytest.mark.usefixtures("differential_data"),
]


def assert_same(source):
    outcome = compare(Spec(source, True))
    assert outcome.kind == "equal", outcome.report()


def rows(window, *, model="Book", order="'pk'"):
    return f"{model}.objects.annotate(w={window}).values_list('pk', 'w').order_by({order})"


RANKING = {
    "row_number": "Window(RowNumber(), order_by=['pages', 'pk'])",
    "row_number_single_key": "Window(RowNumber(), order_by=F('pk').desc())",
    "row_number_partitioned": "Window(RowNumber(), partition_by='publisher', order_by='pk')",
    "rank_one_key": "Window(Rank(), order_by='pages')",
    "rank_desc_nulls_last": "Window(Rank(), order_by=F('pages').desc(nulls_last=True))",
    "rank_two_keys": "Window(Rank(), order_by=['in_print', F('score').desc()])",
    "rank_partitioned": "Window(Rank(), partition_by=['publisher', 'in_print'], order_by='price')",
    "rank_without_order": "Window(Rank())",
    "dense_rank_one_key": "Window(DenseRank(), order_by='price')",
    "dense_rank_two_keys": "Window(DenseRank(), order_by=['in_print', 'published'])",
    "dense_rank_asc_nulls_last": "Window(DenseRank(), order_by=F('score').asc(nulls_last=True))",
    "percent_rank": "Window(PercentRank(), partition_by='publisher', order_by='pages')",
    "percent_rank_two_keys": "Window(PercentRank(), order_by=['in_print', 'sales'])",
    "cume_dist": "Window(CumeDist(), order_by='pages')",
    "cume_dist_partitioned": "Window(CumeDist(), partition_by='in_print', order_by='-price')",
    "ntile_4": "Window(Ntile(4), order_by='pk')",
    "ntile_7_partitioned": "Window(Ntile(7), partition_by='publisher', order_by='pk')",
    "ntile_more_buckets_than_rows": "Window(Ntile(500), order_by='pk')",
}

SHIFTS = {
    "lag": "Window(Lag('pages'), order_by='pk')",
    "lag_2_default": "Window(Lag('pages', 2, Value(-1)), order_by='pk')",
    "lead_partitioned": "Window(Lead('title', 1), partition_by='publisher', order_by='pk')",
    "lead_default_column": "Window(Lead('pages', 1, F('sales')), order_by='pk')",
    "lag_decimal": "Window(Lag('price', 1), partition_by='in_print', order_by='pk')",
}

VALUES = {
    "first_value": "Window(FirstValue('title'), partition_by='publisher', order_by='pk')",
    "last_value_default_frame": "Window(LastValue('pages'), order_by=['in_print', 'pk'])",
    "last_value_rows": "Window(LastValue('title'), order_by='pk', frame=RowRange(-1, 1))",
    "nth_value": "Window(NthValue('pages', 3), order_by='pk')",
    "nth_value_whole": (
        "Window(NthValue('pk', 2), partition_by='publisher', order_by='pk', "
        "frame=RowRange(None, None))"
    ),
}

AGGREGATES = {
    "sum_whole_partition": "Window(Sum('pages'), partition_by='publisher')",
    "sum_running_with_peers": "Window(Sum('pages'), order_by='in_print')",
    "sum_running_two_keys": "Window(Sum('sales'), order_by=['in_print', '-published'])",
    "sum_running_string_key": "Window(Sum('pages'), order_by='title')",
    "count_running": "Window(Count('price'), order_by='pages')",
    "count_star_running": "Window(Count('*'), order_by='score')",
    "avg_rows": "Window(Avg('pages'), order_by='pk', frame=RowRange(-2, 0))",
    "sum_empty_rows_frame": "Window(Sum('pages'), order_by='pk', frame=RowRange(-3, -2))",
    "sum_following": "Window(Sum('pages'), order_by='pk', frame=RowRange(1, None))",
    "min_value_range": "Window(Min('score'), order_by='pages', frame=ValueRange(-50, 50))",
    "max_value_range_current": "Window(Max('pk'), order_by='pages', frame=ValueRange(0, 0))",
    "max_value_range_to_end": "Window(Max('title'), order_by='pages', frame=ValueRange(0, None))",
    "count_from_peers_string_key": (
        "Window(Count('pages'), order_by=['in_print', '-title'], frame=ValueRange(0, None))"
    ),
    "last_value_peers_only": (
        "Window(Max('pk'), order_by=[F('score').desc(nulls_last=True)], frame=ValueRange(0, 0))"
    ),
    "sum_value_range_foreign_key": (
        "Window(Sum('pages'), order_by='editor_id', frame=ValueRange(-2, 0))"
    ),
    "max_value_range_pk": "Window(Max('title'), order_by='pk', frame=ValueRange(-2, 1))",
    "sum_value_range_to_current": (
        "Window(Sum('pages'), order_by='-title', frame=ValueRange(end=0))"
    ),
    "sum_value_range_unbounded": "Window(Sum('pages'), order_by='pk', frame=ValueRange())",
    "sum_filtered": "Window(Sum('pages', filter=Q(in_print=True)), partition_by='publisher')",
    "min_value_range_nulls_last": (
        "Window(Min('score'), order_by=F('pages').asc(nulls_last=True), frame=ValueRange(-50, 50))"
    ),
    "sum_value_range_preceding": "Window(Sum('pages'), order_by='sales', frame=ValueRange(-3, 0))",
    "over_a_join": "Window(Max('publisher__name'), partition_by='editor__age')",
}


EXCLUSIONS = {
    "sum_rows_exclude_current": (
        "Window(Sum('pages'), order_by='pk', "
        "frame=RowRange(-2, 2, exclusion=WindowFrameExclusion.CURRENT_ROW))"
    ),
    "count_default_range_exclude_group": (
        "Window(Count('*'), order_by='in_print', "
        "frame=ValueRange(None, 0, exclusion=WindowFrameExclusion.GROUP))"
    ),
    "max_exclude_ties": (
        "Window(Max('title'), partition_by='publisher', order_by='pages', "
        "frame=ValueRange(None, None, exclusion=WindowFrameExclusion.TIES))"
    ),
    "avg_from_peers_exclude_current": (
        "Window(Avg('score'), order_by=['in_print', 'pages'], "
        "frame=ValueRange(0, None, exclusion=WindowFrameExclusion.CURRENT_ROW))"
    ),
    "min_no_others": (
        "Window(Min('sales'), order_by='pk', "
        "frame=RowRange(-1, 0, exclusion=WindowFrameExclusion.NO_OTHERS))"
    ),
    "first_value_exclude_group": (
        "Window(FirstValue('pk'), order_by=['in_print', 'pk'], "
        "frame=RowRange(None, 1, exclusion=WindowFrameExclusion.GROUP))"
    ),
    "last_value_exclude_ties": (
        "Window(LastValue('title'), order_by=['pages', 'pk'], "
        "frame=RowRange(0, 2, exclusion=WindowFrameExclusion.TIES))"
    ),
    "nth_value_exclude_current": (
        "Window(NthValue('pk', 2), partition_by='in_print', order_by='pk', "
        "frame=ValueRange(exclusion=WindowFrameExclusion.CURRENT_ROW))"
    ),
}


@pytest.mark.parametrize("window", EXCLUSIONS.values(), ids=EXCLUSIONS)
def test_frame_exclusions(window):
    """MongoDB has no frame exclusion: the frame's rows are pushed and filtered."""
    assert_same(rows(window))


@pytest.mark.parametrize("window", RANKING.values(), ids=RANKING)
def test_ranking_functions(window):
    assert_same(rows(window))


@pytest.mark.parametrize("window", SHIFTS.values(), ids=SHIFTS)
def test_lag_and_lead(window):
    assert_same(rows(window))


@pytest.mark.parametrize("window", VALUES.values(), ids=VALUES)
def test_value_functions(window):
    assert_same(rows(window))


@pytest.mark.parametrize("window", AGGREGATES.values(), ids=AGGREGATES)
def test_aggregates_over_windows(window):
    assert_same(rows(window))


def test_deviations_over_windows():
    """SQLite has no STDDEV/VARIANCE window functions: Python's statistics are the oracle."""
    import statistics

    query = Book.objects.using("default").annotate(
        sd=Window(StdDev("pages", sample=True), partition_by="publisher"),
        var=Window(Variance("pages"), partition_by="publisher"),
    )
    pages = {}
    for book in Book.objects.using("sqlite").all():
        if book.pages is not None:
            pages.setdefault(book.publisher_id, []).append(book.pages)
    for book in query:
        values = pages.get(book.publisher_id, [])
        sd = statistics.stdev(values) if len(values) > 1 else None
        var = statistics.pvariance(values) if values else None
        assert book.sd == pytest.approx(sd), book.pk
        assert book.var == pytest.approx(var), book.pk


def test_windows_of_different_specs_keep_their_own_fields():
    """Found by the differential generator: a SUM's count of values and another window's row
    number shared a field name."""
    assert_same(
        "Book.objects.annotate(s=Window(Sum('editor_id'), partition_by=['sales', "
        "'editor__rating']), n=Window(RowNumber(), order_by=['pages', 'pk'])).filter(s__lte=0)"
        ".values_list('pk', 's', 'n').order_by('pk')"
    )


def test_windows_in_expressions_and_ordering():
    assert_same(
        "Book.objects.annotate(r=Window(Rank(), order_by='-pages'), "
        "share=F('pages') * 100.0 / Window(Sum('pages'), partition_by='publisher'))"
        ".values_list('pk', 'r', 'share').order_by('r', 'pk')"
    )


def test_filtering_on_a_window_qualify():
    assert_same(
        "Book.objects.annotate(r=Window(RowNumber(), partition_by='publisher', order_by='pk'))"
        ".filter(r__lte=2, pages__gt=10).values_list('pk', 'r').order_by('pk')"
    )
    assert_same(
        "Book.objects.annotate(s=Window(Sum('pages'), partition_by='publisher'))"
        ".filter(Q(s__gt=500) | Q(pk__lt=5)).values_list('pk', 's').order_by('pk')[:7]"
    )


def test_window_in_a_subquery():
    assert_same(
        "Book.objects.filter(pk__in=Book.objects.annotate(r=Window(Rank(), "
        "partition_by='publisher', order_by='-pages')).filter(r=1).values('pk'))"
        ".values_list('pk', flat=True).order_by('pk')"
    )


def test_one_stage_per_partition_and_order():
    """Windows of the same PARTITION BY and ORDER BY share their $setWindowFields; a rank
    over one key is MongoDB's own $rank."""
    query = Book.objects.annotate(
        r=Window(Rank(), partition_by="publisher", order_by="pages"),
        s=Window(Sum("pages"), partition_by="publisher", order_by="pages"),
        t=Window(Sum("pages"), partition_by="publisher"),
    ).values_list("r", "s", "t")
    stages = [stage for stage in pipeline(query) if "$setWindowFields" in stage]
    first = stages[0]["$setWindowFields"]
    assert first["sortBy"] == {"__wk0": 1}
    assert {"$rank": {}} in first["output"].values()
    assert len([s for s in stages if s["$setWindowFields"].get("sortBy") == {"__wk0": 1}]) == 1


def test_refusals():
    with pytest.raises(NotSupportedError, match="frame with an exclusion"):
        list(
            Book.objects.annotate(
                w=Window(
                    StdDev("pages"),
                    order_by="pk",
                    frame=RowRange(-1, 1, exclusion=WindowFrameExclusion.CURRENT_ROW),
                )
            )
        )
    with pytest.raises(NotSupportedError, match="ValueRange frames with offsets"):
        list(
            Book.objects.annotate(w=Window(Sum("pages"), order_by="title", frame=ValueRange(-1, 1)))
        )
    with pytest.raises(NotSupportedError, match="ValueRange frames with offsets"):
        list(
            Book.objects.annotate(
                w=Window(Sum("pages"), order_by=["pages", "pk"], frame=ValueRange(-1, 1))
            )
        )
    with pytest.raises(FieldError, match="Window expressions are not allowed in this query"):
        Book.objects.update(pages=Window(Max("pages"), partition_by="publisher"))


def test_count_of_a_filtered_window():
    source = (
        "Book.objects.annotate(r=Window(Rank(), partition_by='publisher', order_by='-pages'))"
        ".filter(r=1)"
    )
    outcome = compare(Spec(f"[{source}.count(), {source}.exists()]", True))
    assert outcome.kind == "equal", outcome.report()


def test_windows_over_groups():
    """SQL computes windows after GROUP BY and HAVING, over the groups."""
    assert_same(
        "Book.objects.values('publisher').annotate(n=Count('pk'), "
        "r=Window(Rank(), order_by=F('n').desc()))"
        ".values_list('publisher', 'n', 'r').order_by('publisher')"
    )
    assert_same(
        "Author.objects.annotate(n=Count('books'), "
        "m=Window(Max('age'), partition_by='active'))"
        ".filter(m__gt=40).values_list('pk', 'n', 'm').order_by('pk')"
    )


def test_qualify_mixing_a_window_and_an_aggregate():
    """Django moves a condition mixing a window and an aggregate (OR) to QUALIFY whole."""
    base = (
        "Author.objects.annotate(r=Window(Rank(), partition_by='active', order_by='-age'), "
        "n=Count('books'))"
    )
    assert_same(f"{base}.filter(r=1, n__gte=3).values_list('pk', flat=True).order_by('pk')")
    assert_same(f"{base}.filter(Q(r=1) | Q(n__gte=3)).values_list('pk', flat=True).order_by('pk')")
    values = (
        "Author.objects.annotate(r=Window(Rank(), partition_by='active', order_by='-age'))"
        ".order_by('name').values_list('name', flat=True).annotate(n=Count('books'))"
    )
    assert_same(f"{values}.filter(r=1, n__gte=2)")
    assert_same(f"{values}.filter(Q(r=1) | Q(n__gte=2))")


def test_aggregate_and_union_over_windows():
    """aggregate() over window annotations runs them in a subquery (Django's SQL); union()
    compiles each part with its own windows."""
    assert_same(
        "Book.objects.annotate(r=Window(Rank(), partition_by='publisher', order_by='-pages'))"
        ".aggregate(total=Sum('r'), top=Count('pk', filter=Q(r=1)))"
    )
    assert_same(
        "Book.objects.annotate(r=Window(RowNumber(), order_by='pk')).filter(pk__lt=4)"
        ".values_list('pk', 'r').union(Author.objects.annotate(r=Window(DenseRank(), "
        "order_by='age')).values_list('pk', 'r')).order_by('pk', 'r')"
    )
