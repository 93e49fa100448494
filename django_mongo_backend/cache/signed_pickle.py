"""Pickle, for settings that ask for it, with every value signed by the site's secret key.

Unpickling runs code named by the data: whoever can write to the cache collection could run
code in every process reading it. Django's own database cache pickles all values, and
MongoDB's Django backend removed its cache backend for that reason. Here pickle is only used
with ``OPTIONS["SERIALIZER"] = "pickle"``, and each pickle is stored with an HMAC-SHA256 of
the cache key and the pickle, keyed by ``SECRET_KEY``: a document written by someone who does
not know the key is not unpickled (it reads as a miss, with a warning in the log). The key is
part of the signature so that a signed value cannot be copied under another key. Signatures
made with a key in ``SECRET_KEY_FALLBACKS`` are accepted, so rotating the key does not empty
the cache at once. This protects against a writable database, not against a leaked secret key.
"""

from __future__ import annotations

import logging
import pickle

from django.conf import settings
from django.utils.crypto import constant_time_compare, salted_hmac

logger = logging.getLogger("django_mongo_backend.cache")

SALT = "django_mongo_backend.cache.signed_pickle"
PROTOCOL = pickle.HIGHEST_PROTOCOL


def dumps(value, key):
    """``(pickle bytes, signature)``."""
    data = pickle.dumps(value, PROTOCOL)
    return data, _signature(key, data, settings.SECRET_KEY)


def loads(data, signature, key, collection):
    """The value, or ``None, False`` when the signature does not hold (never unpickled)."""
    secrets = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", ())]
    if isinstance(signature, str) and any(
        constant_time_compare(signature, _signature(key, data, secret)) for secret in secrets
    ):
        return pickle.loads(data), True  # signed with our secret key (see above)
    logger.warning(
        "cache entry %r in collection %r has a pickled value whose signature does not match "
        "SECRET_KEY: not unpickled, read as a miss",
        key,
        collection,
    )
    return None, False


def _signature(key, data, secret):
    message = key.encode("utf-8", "surrogatepass") + b"\x00" + bytes(data)
    return salted_hmac(SALT, message, secret=secret, algorithm="sha256").hexdigest()
