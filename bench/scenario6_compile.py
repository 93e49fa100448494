"""Scenario 6: query compile time, queryset -> what is sent, no I/O, for 20 querysets.

For this backend, the pipeline (``compiler.mql()``); for django-mongodb-backend, the pipeline
its compiler builds before running it (``pre_sql_setup`` + ``build_query().get_pipeline()``);
for djongo, Django's SQL plus djongo's parse of that SQL into a MongoDB query (what it does
before each command); for SQLite, Django's SQL (``as_sql()``). Each queryset is compiled with
a fresh compiler 200 times per round, and the fastest round's CPU time per compile is kept
(on a shared machine, interference only ever adds time); the table's ratio is
against django-mongodb-backend over the querysets both compile. Run alone:
``python bench/scenario6_compile.py [--backend B] [--scale S]``.
"""

from __future__ import annotations

import time

COMPILES = 200  # per queryset per round


def querysets():
    """The 20 representative querysets: (name, queryset)."""
    from bench_app.models import Author, Book, Item
    from django.db.models import (
        Case,
        CharField,
        Count,
        Exists,
        F,
        OuterRef,
        Q,
        Subquery,
        Sum,
        Value,
        When,
    )
    from django.db.models.functions import Lower

    return [
        ("all", Item.objects.all()),
        ("exact", Item.objects.filter(number=5)),
        ("gt + startswith", Item.objects.filter(number__gt=5, name__startswith="item")),
        (
            "icontains order slice",
            Item.objects.filter(name__icontains="x").order_by("-number")[:20],
        ),
        ("Q or", Item.objects.filter(Q(number__lt=10) | Q(ratio__gte=0.5))),
        ("exclude in", Item.objects.exclude(number__in=[1, 2, 3])),
        ("range order", Item.objects.filter(number__range=(1, 100)).order_by("name")),
        ("values", Item.objects.values("name", "number")),
        ("values_list flat", Item.objects.values_list("pk", flat=True)),
        ("isnull only", Item.objects.filter(name__isnull=False).only("name")),
        ("F annotate filter", Item.objects.annotate(double=F("number") * 2).filter(double__gt=10)),
        ("field vs field", Item.objects.filter(number__gt=F("ratio"))),
        (
            "Case/When",
            Item.objects.annotate(
                kind=Case(
                    When(number__gt=5, then=Value("big")),
                    default=Value("small"),
                    output_field=CharField(),
                )
            ),
        ),
        ("Lower", Item.objects.annotate(lower=Lower("name")).filter(lower="item 1")),
        ("group by count", Item.objects.values("number").annotate(n=Count("pk"))),
        ("select_related", Book.objects.select_related("author").filter(pages__gt=100)),
        ("filter across join", Book.objects.filter(author__name="author 1")),
        ("group by sum", Book.objects.values("author").annotate(n=Count("pk"), s=Sum("pages"))),
        (
            "Subquery",
            Author.objects.annotate(
                longest=Subquery(
                    Book.objects.filter(author=OuterRef("pk"))
                    .order_by("-pages")
                    .values("title")[:1]
                )
            ),
        ),
        (
            "Exists",
            Author.objects.filter(
                Exists(Book.objects.filter(author=OuterRef("pk"), pages__gt=100))
            ),
        ),
    ]


def compile_function(backend):
    from django.db import connection

    if backend == "django_mongo_backend":
        return lambda query: query.get_compiler("default").mql()
    if backend == "django-mongodb-backend":

        def compile_dmb(query):
            compiler = query.get_compiler("default")
            compiler.pre_sql_setup()
            columns = compiler.get_project_columns(compiler.columns)
            return compiler.build_query(columns).get_pipeline()

        return compile_dmb
    if backend == "djongo":
        from djongo.sql2mongo.query import Query

        connection.ensure_connection()

        def compile_djongo(query):
            sql, params = query.get_compiler("default").as_sql()
            parsed = Query(
                connection.client_connection,
                connection.connection,
                connection.djongo_connection,
                sql,
                params,
            )
            inner = parsed._query
            if hasattr(inner, "_needs_aggregation") and inner._needs_aggregation():
                return inner._make_pipeline()
            return inner

        return compile_djongo
    return lambda query: query.get_compiler("default").as_sql()


def run(bench):
    compile_query = compile_function(bench.backend)
    compiles = max(5, bench.size(COMPILES))
    per_query = {}
    for name, queryset in querysets():
        query = queryset.query
        try:
            compile_query(query)
        except Exception as error:
            from harness import error_text

            per_query[name] = {"error": error_text(error)}
            continue
        samples = []
        for _ in range(max(1, bench.repeat)):
            started = time.process_time()
            for _ in range(compiles):
                compile_query(query)
            samples.append((time.process_time() - started) / compiles)
        per_query[name] = {"cpu": min(samples)}
    compiled = [entry["cpu"] for entry in per_query.values() if "cpu" in entry]
    failed = len(per_query) - len(compiled)
    return {
        "compile": {
            "label": f"compile {len(per_query)} querysets",
            "per_query": per_query,
            "mean_ms": sum(compiled) / len(compiled) * 1000 if compiled else None,
            "compiled": len(compiled),
            "failed": failed,
        }
    }


if __name__ == "__main__":
    from harness import run_one_scenario

    run_one_scenario("scenario6_compile")
