"""Commands mongoeco lacks, answered by the server layer itself.

Each handler takes the executor and an ``OwnCommandContext`` and returns the reply document.
"""

from __future__ import annotations

from mongoeco import __version__ as MONGOECO_RELEASE  # noqa: N812


async def build_info(executor, context):
    """``buildInfo``: pymongo's ``server_info()`` needs it; report the MongoDB version we emulate."""
    return {
        "version": "7.0.0",
        "versionArray": [7, 0, 0, 0],
        "gitVersion": f"mongoeco-{MONGOECO_RELEASE}",
        "bits": 64,
        "maxBsonObjectSize": executor._surface.max_bson_object_size,
        "storageEngines": ["mongoeco-sqlite"],
        "ok": 1.0,
    }


#: Command name (as clients send it) -> handler. Lookups are by the first key of the command.
OWN_COMMANDS = {
    "buildInfo": build_info,
    "buildinfo": build_info,
}
