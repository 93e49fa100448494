"""Wrong DATABASES settings: one clear line naming the alias and key, never a raw traceback.

``tests/backend/test_settings.py`` covers an empty NAME, a CLIENT that is not a dict, an
unknown CLIENT option and an unreachable port; this is the rest of the catalogue.
"""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import OperationalError

from tests.backend.wrappers import unconnected_wrapper as wrapper

from .figures import record

UNREACHABLE = {"host": "127.0.0.1", "port": 9, "serverSelectionTimeoutMS": 200}


IMPROPER = {
    "NAME not a string": ({"NAME": 5}, "['NAME']"),
    "NAME with a dot": ({"NAME": "a.b", "CLIENT": UNREACHABLE}, "['NAME']: 'a.b'"),
    "NAME with a slash": ({"NAME": "a/b", "CLIENT": UNREACHABLE}, "['NAME']: 'a/b'"),
    "NAME with a space": ({"NAME": "a b", "CLIENT": UNREACHABLE}, "['NAME']"),
    "NAME with a dollar": ({"NAME": "a$b", "CLIENT": UNREACHABLE}, "['NAME']"),
    "PORT not a number": ({"NAME": "db", "HOST": "127.0.0.1", "PORT": "abc"}, "['PORT']"),
    "OPTIONS not a dict": ({"NAME": "db", "OPTIONS": "x"}, "['OPTIONS']"),
    "timeout not a number": (
        {"NAME": "db", "CLIENT": {"serverSelectionTimeoutMS": "soon"}},
        "serverSelectionTimeoutMS",
    ),
    "negative timeout": (
        {"NAME": "db", "CLIENT": {"serverSelectionTimeoutMS": -1}},
        "serverSelectionTimeoutMS",
    ),
    "port a string in CLIENT": ({"NAME": "db", "CLIENT": {"port": "abc"}}, "port"),
    "unknown authMechanism": (
        {"NAME": "db", "CLIENT": {"username": "u", "password": "p", "authMechanism": "NOPE"}},
        "authMechanism",
    ),
    "tls not a boolean": ({"NAME": "db", "CLIENT": {"tls": "maybe"}}, "tls"),
    "URI without hosts": ({"NAME": "db", "CLIENT": {"host": "mongodb://"}}, "hostname"),
    "URI with a bad host": ({"NAME": "db", "CLIENT": {"host": "mongodb://a:b:c/"}}, "escaped"),
    "URI of another database": ({"NAME": "db", "HOST": "postgres://x/"}, "mongodb://"),
    "embedded:// without a directory": ({"NAME": "db", "CLIENT": {"host": "embedded://"}}, "DIR"),
}


@pytest.mark.parametrize("case", IMPROPER)
def test_wrong_settings_are_one_improperly_configured_line(case, django_db_blocker):
    settings, expected = IMPROPER[case]
    db = wrapper(**settings)
    with django_db_blocker.unblock(), pytest.raises(ImproperlyConfigured) as caught:
        db.ensure_connection()
    message = str(caught.value)
    record(bad_settings=1)
    assert message.startswith("settings.DATABASES['probe']"), message
    assert expected in message and "\n" not in message, message


UNREACHABLE_SETTINGS = {
    "closed port": ({"NAME": "db", "CLIENT": UNREACHABLE}, "127.0.0.1:9"),
    "unknown host": (
        {"NAME": "db", "CLIENT": {"host": "no-such-host.invalid", "serverSelectionTimeoutMS": 200}},
        "no-such-host.invalid:27017",
    ),
    "URI with credentials": (
        {"NAME": "db", "HOST": "mongodb://user:s3cret@127.0.0.1:9/?serverSelectionTimeoutMS=200"},
        "127.0.0.1:9",
    ),
    "several hosts": (
        {
            "NAME": "db",
            "CLIENT": {
                "host": "mongodb://127.0.0.1:9,127.0.0.1:7/?replicaSet=rs",
                "serverSelectionTimeoutMS": 200,
            },
        },
        "127.0.0.1:9",
    ),
}


@pytest.mark.parametrize("case", UNREACHABLE_SETTINGS)
def test_unreachable_servers_are_one_operational_error_line_naming_the_address(
    case, django_db_blocker
):
    settings, address = UNREACHABLE_SETTINGS[case]
    db = wrapper(**settings)
    try:
        with django_db_blocker.unblock(), pytest.raises(OperationalError) as caught:
            db.ensure_connection()
            db.server_info  # noqa: B018 - the first command reaches for the server
    finally:
        db.close()
    message = str(caught.value)
    record(bad_settings=1)
    assert message.startswith("MongoDB server "), message
    assert address in message and "is unreachable" in message, message
    assert "\n" not in message and "Topology Description" not in message, message
    assert "s3cret" not in message  # credentials never reach an error message
