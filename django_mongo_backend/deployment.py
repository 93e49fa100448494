"""What the DATABASES settings alone say about the deployment: whether it has transactions.

``features.supports_transactions`` (and ``uses_savepoints``, ``has_select_for_update``, which
follow it) is read by code that runs before any test or request, at import time: DRF's test
suite decorates a class with ``skipUnless(connection.features.uses_savepoints)``, and
pytest-django refuses database access there. Asking the server (``hello``) is the general
answer, but some settings already fix it, because the driver only ever talks to a certain kind
of server (the SDAM specification's "allowed configuration combinations"):

- ``embedded://DIR``: the embedded server is always the primary of a one-member replica set.
- ``replicaSet=NAME`` (in the URI, ``CLIENT`` or ``OPTIONS``): the driver uses only members
  of that set; a standalone mongod or a mongos never answers with that ``setName``, so it is
  never selected and no command runs on it.
- ``loadBalanced=true``: load-balanced mode is for mongos only (a sharded cluster).

Every one of these deployments has multi-document transactions on MongoDB 7.0 (the minimum
version). Anything else (a ``mongodb://`` URI without a set name, ``mongodb+srv://`` whose
TXT record may or may not name one) is left to the server's ``hello``, so a standalone mongod
still reports no transactions. Nothing here does I/O: an ``mongodb+srv://`` URI is not
resolved.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

#: Option names as the driver takes them, compared case-insensitively (as pymongo does).
_REPLICA_SET = "replicaset"
_LOAD_BALANCED = "loadbalanced"


def transactions_known(settings_dict) -> bool | None:
    """True when the settings alone guarantee a deployment with transactions, else None
    (never False: only the server can say it has none)."""
    client = settings_dict.get("CLIENT") or {}
    options = settings_dict.get("OPTIONS") or {}
    if not isinstance(client, dict) or not isinstance(options, dict):
        return None  # get_connection_params reports the mistake
    host = client.get("host") or options.get("host") or settings_dict.get("HOST")
    hosts = [host] if isinstance(host, str) else list(host or ())
    if any(isinstance(h, str) and h.startswith("embedded://") for h in hosts):
        return True
    kwargs = {str(key).lower(): value for key, value in {**options, **client}.items()}
    for h in hosts:
        if isinstance(h, str) and h.startswith("mongodb://"):
            kwargs = {**_uri_options(h), **kwargs}  # keyword arguments win, as in pymongo
    if kwargs.get(_REPLICA_SET):
        return True
    if _true(kwargs.get(_LOAD_BALANCED)):
        return True
    return None


def _uri_options(uri):
    """The options of a ``mongodb://`` URI, names lower-cased (no validation: the driver
    validates them when the client is built)."""
    _, _, query = uri.partition("?")
    return {name.lower(): value for name, value in parse_qsl(query, keep_blank_values=True)}


def _true(value):
    if isinstance(value, str):
        return value.lower() == "true"
    return value is True
