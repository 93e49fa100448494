"""Construction arguments for the SQLite engine, so it answers large aggregations like MongoDB.

mongoeco 4.11's ``SQLiteEngine`` refuses any blocking stage (``$group``, ``$sort``, ``$count``...)
over more than 50,000 documents unless a spill policy exists ("exceeds the configured
materialization budget"); pymongo's ``count_documents`` is such a ``$group``. MongoDB has no
document-count budget: since 6.0 blocking stages spill to disk by default (``allowDiskUse``). We
drop the budget and let stages spill beyond the threshold instead, keeping memory bounded.
"""

from __future__ import annotations

#: Documents a blocking stage holds in memory before it spills to disk.
SPILL_THRESHOLD = 50_000


def engine_options():
    """Keyword arguments for ``SQLiteEngine(path, **engine_options())``."""
    return {
        "aggregation_materialization_limit": None,
        "aggregation_spill_threshold": SPILL_THRESHOLD,
    }
