"""Performance paths: mongoeco's own results, through the primary key or an index, not a scan.

Every patch here is registered with ``kind="performance"``: it must answer exactly what the
mongoeco path it replaces answers (its tests compare the two), only faster. ``fastpaths`` routes
``_id`` matches and inserts through the primary key; ``joins`` reads only the foreign documents an
equality ``$lookup`` can match. The corrections wrap some of these paths (``comparisons``,
``limits``), so a MongoDB rule holds on the fast path as on the slow one.
"""


def install():
    """Apply the performance paths (idempotent), before any correction wraps them."""
    from . import fastpaths, index_storage, joins, switch_lookup, unique_checks, write_ahead_log

    index_storage.install()
    write_ahead_log.install()
    switch_lookup.install()
    fastpaths.install()
    unique_checks.install()
    joins.install()
