"""The backend's credentials settings really authenticate (against an embedded server with a user).

Every way Django settings can carry credentials is tried: ``USER``/``PASSWORD``, ``CLIENT``
keyword arguments (``username``, ``password``, ``authSource``, ``authMechanism``), a
``mongodb://user:password@host:port/`` ``HOST``, and ``embedded://DIR`` with ``USER``/``PASSWORD``.
Right credentials run a query; wrong ones give one Django ``OperationalError`` naming the server;
none are refused by the server (13 Unauthorized) for data commands. The embedded server checks
SCRAM as mongod does (``tests/embedded/test_auth.py``), so these run unchanged against a real
MongoDB with access control.
"""

from __future__ import annotations

from urllib.parse import quote_plus

import pymongo
import pytest
from django.db import DatabaseError, OperationalError

from django_mongo_backend.embedded import launcher
from tests.backend.wrappers import unconnected_wrapper

USER = "app"
PASSWORD = "p@ss:wörd/1"  # characters a URI must escape
NAME = "auth_settings"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """An embedded server with the user ``app``, holding one collection in ``NAME``."""
    dbpath = tmp_path_factory.mktemp("auth_settings")
    info = launcher.ensure_server(dbpath, username=USER, password=PASSWORD)
    client = pymongo.MongoClient(launcher.uri_for(info), username=USER, password=PASSWORD)
    client[NAME].marker.insert_one({"_id": 1})
    client.close()
    yield dbpath, info
    launcher.stop_server(dbpath)


@pytest.fixture
def address(server):
    return f"127.0.0.1:{server[1]['port']}"


def wrapper(**settings):
    return unconnected_wrapper("auth_probe", **{"NAME": NAME, **settings})


def tables(db, django_db_blocker):
    """A data command (listCollections) through the backend."""
    with django_db_blocker.unblock():
        try:
            return db.introspection.table_names()
        finally:
            db.close()


def client_settings(address, **kwargs):
    host, port = address.rsplit(":", 1)
    return {
        "host": host,
        "port": int(port),
        "directConnection": True,
        "serverSelectionTimeoutMS": 5000,
        **kwargs,
    }


def test_user_and_password_settings_authenticate(address, django_db_blocker):
    db = wrapper(HOST=f"mongodb://{address}/?directConnection=true", USER=USER, PASSWORD=PASSWORD)
    assert "marker" in tables(db, django_db_blocker)


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-256", "SCRAM-SHA-1"])
def test_client_kwargs_authenticate(address, mechanism, django_db_blocker):
    client = client_settings(
        address, username=USER, password=PASSWORD, authSource="admin", authMechanism=mechanism
    )
    assert "marker" in tables(wrapper(CLIENT=client), django_db_blocker)


def test_credentials_in_a_mongodb_uri_host_authenticate(address, django_db_blocker):
    host = f"mongodb://{quote_plus(USER)}:{quote_plus(PASSWORD)}@{address}/?directConnection=true"
    assert "marker" in tables(wrapper(HOST=host), django_db_blocker)


def test_embedded_host_with_user_and_password_authenticates(server, django_db_blocker):
    db = wrapper(HOST=f"embedded://{server[0]}", USER=USER, PASSWORD=PASSWORD)
    assert "marker" in tables(db, django_db_blocker)


def wrong_credentials(address):
    uri = f"mongodb://{address}/?directConnection=true&serverSelectionTimeoutMS=5000"
    return {
        "USER/PASSWORD": {"HOST": uri, "USER": USER, "PASSWORD": "wrong"},
        "unknown USER": {"HOST": uri, "USER": "nobody", "PASSWORD": PASSWORD},
        "CLIENT": {"CLIENT": client_settings(address, username=USER, password="wrong")},
        "CLIENT authSource": {
            "CLIENT": client_settings(
                address, username=USER, password=PASSWORD, authSource=NAME
            )  # the user is defined on admin, not on NAME
        },
        "CLIENT SCRAM-SHA-1": {
            "CLIENT": client_settings(
                address, username=USER, password="wrong", authMechanism="SCRAM-SHA-1"
            )
        },
        "URI": {"HOST": uri.replace("mongodb://", f"mongodb://{USER}:wrong@")},
    }


@pytest.mark.parametrize(
    "case",
    ["USER/PASSWORD", "unknown USER", "CLIENT", "CLIENT authSource", "CLIENT SCRAM-SHA-1", "URI"],
)
def test_wrong_credentials_are_one_operational_error_naming_the_server(
    address, case, django_db_blocker
):
    db = wrapper(**wrong_credentials(address)[case])
    with pytest.raises(OperationalError) as caught:
        tables(db, django_db_blocker)
    message = str(caught.value)
    assert address in message
    assert "Authentication failed" in message
    assert "wrong" not in message and PASSWORD not in message  # no secret in the message
    assert "\n" not in message


def test_wrong_credentials_never_run_the_query(address, django_db_blocker):
    # What holds today, whatever the Django class: the server refuses them (code 18).
    db = wrapper(**wrong_credentials(address)["USER/PASSWORD"])
    with pytest.raises(DatabaseError) as caught:
        tables(db, django_db_blocker)
    assert caught.value.code == 18
    assert caught.value.__cause__ is not None  # the pymongo error stays chained


def test_no_credentials_are_refused_for_data_commands(address, django_db_blocker):
    db = wrapper(HOST=f"mongodb://{address}/?directConnection=true")
    with pytest.raises(DatabaseError) as caught:
        tables(db, django_db_blocker)
    assert caught.value.code == 13
    assert "requires authentication" in str(caught.value)
    with django_db_blocker.unblock():
        # The handshake commands still answer, as mongod's do (buildInfo: the server version).
        assert db.server_info["ok"] == 1.0
        db.close()


def test_embedded_host_without_credentials_names_the_settings_to_set(server):
    from django.db import OperationalError

    with pytest.raises(OperationalError, match=r"'auth_probe'\]: .* set USER and PASSWORD"):
        wrapper(HOST=f"embedded://{server[0]}").get_connection_params()
