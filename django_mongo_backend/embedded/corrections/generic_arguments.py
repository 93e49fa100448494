"""The arguments every command accepts besides its own fields.

A command that checks its fields (``explain``, ``setParameter``) refuses any other unknown
field, as mongod's IDL parser does, but must let these through: the generic arguments of
``src/mongo/idl/generic_argument.idl`` and the wire protocol's ``$``-prefixed fields
(``$db``, ``$clusterTime``, ``$readPreference``...).
"""

from __future__ import annotations

GENERIC_ARGUMENTS = frozenset(
    {
        "apiVersion", "apiStrict", "apiDeprecationErrors", "maxTimeMS", "readConcern",
        "writeConcern", "lsid", "clientOperationKey", "txnNumber", "autocommit",
        "startTransaction", "stmtId", "comment", "allowImplicitCollectionCreation",
        "databaseVersion", "shardVersion", "tracking_info", "coordinator", "maxTimeMSOpOnly",
        "txnRetryCounter", "mayBypassWriteBlocking", "expectPrefix",
    }
)  # fmt: skip


def is_generic_argument(name: str) -> bool:
    """Whether a command's field ``name`` is one every command accepts."""
    return name.startswith("$") or name in GENERIC_ARGUMENTS
