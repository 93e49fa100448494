"""Corrections: where mongoeco evaluates, stores or refuses unlike MongoDB 7.0, do as MongoDB does.

Every module here exists because mongoeco (``MONGOECO_VERSION``) differs from MongoDB on some
rule, and each cites that rule (manual page or server source) in its docstring and its tests.
Two ways in:

- patches of mongoeco's functions, methods and tables, all made through ``registry`` with
  ``kind="correction"``: ``operators`` (with ``strings``, ``missing`` and ``regex``),
  ``comparisons``, ``updates``, ``catalog``, ``limits``, ``storage_rules``, ``index_identity``,
  ``error_codes``, ``nonfinite``, ``nul_strings``, ``distinct``, ``ttl_monitor`` (whose
  background pass the wire server also runs), ``explain`` (MongoDB's explain layout, with
  ``explain_plans``);
- corrections at the command level, which the wire server (``server.wire``) applies around
  mongoeco's executor without patching it: ``rewrites`` (the command document before mongoeco
  sees it), ``commands`` (commands answered in full: ``getParameter`` and ``setParameter`` from
  ``server_parameters``, which declares the server's parameters), ``server_stages`` (``$out``,
  ``$merge``...), ``search_indexes``, ``views`` (commands on views), ``errors`` (mongoeco's
  errors as MongoDB reports them) and ``engine_options`` (the engine constructed without
  mongoeco's document budget).

When an upgrade of mongoeco follows one of these rules itself, the correction goes away.
"""


def install():
    """Apply every correction to mongoeco (idempotent), after ``performance.install()``:
    corrections wrap what the performance paths set, so MongoDB's rule holds on both paths."""
    from . import (
        array_min_max,
        catalog,
        comparisons,
        distinct,
        error_codes,
        explain,
        index_identity,
        limits,
        nonfinite,
        nul_strings,
        operators,
        storage_rules,
        ttl_monitor,
        updates,
        window_fields,
    )

    operators.install()  # with strings, missing and regex
    comparisons.install()  # it wraps the engine methods fastpaths sets
    updates.install()
    catalog.install()
    limits.install()  # after operators: it wraps functions they and fastpaths replace
    storage_rules.install()
    index_identity.install()
    error_codes.install()
    nonfinite.install()  # after comparisons: it wraps the engine's sort and filter checks
    nul_strings.install()
    distinct.install()
    ttl_monitor.install()
    explain.install()
    window_fields.install()
    array_min_max.install()
