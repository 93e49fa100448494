"""DATABASES settings as Djongo users write them, plus Django's usual keys."""

from __future__ import annotations

import logging

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import OperationalError

from tests.backend.wrappers import unconnected_wrapper as wrapper


def test_empty_name_is_improperly_configured_naming_the_alias():
    with pytest.raises(ImproperlyConfigured, match=r"DATABASES\['probe'\].*NAME"):
        wrapper(NAME="").get_connection_params()


def test_client_kwargs_pass_straight_to_mongoclient():
    params = wrapper(
        NAME="db",
        CLIENT={
            "host": "db.example",
            "port": 27018,
            "username": "u",
            "password": "p",
            "authSource": "admin",
            "authMechanism": "SCRAM-SHA-256",
            "tls": True,
        },
    ).get_connection_params()
    client = params["client"]
    assert client["host"] == "db.example" and client["port"] == 27018
    assert client["username"] == "u" and client["authSource"] == "admin"
    assert client["tls"] is True and params["name"] == "db"


def test_django_keys_are_used_where_client_is_silent():
    params = wrapper(
        NAME="db", HOST="mongodb://h1,h2/?replicaSet=rs", PORT="27019", USER="u", PASSWORD="p"
    ).get_connection_params()["client"]
    assert params["host"] == "mongodb://h1,h2/?replicaSet=rs"
    assert params["port"] == 27019
    assert (params["username"], params["password"]) == ("u", "p")
    overridden = wrapper(NAME="db", HOST="a", CLIENT={"host": "b"}).get_connection_params()
    assert overridden["client"]["host"] == "b"


def test_options_are_client_kwargs_too():
    params = wrapper(NAME="db", OPTIONS={"serverSelectionTimeoutMS": 5}).get_connection_params()
    assert params["client"]["serverSelectionTimeoutMS"] == 5


def test_client_must_be_a_dict():
    with pytest.raises(ImproperlyConfigured, match="CLIENT"):
        wrapper(NAME="db", CLIENT="mongodb://x").get_connection_params()


def test_bad_client_kwarg_is_a_clear_error(django_db_blocker):
    with django_db_blocker.unblock(), pytest.raises(ImproperlyConfigured, match="probe"):
        wrapper(NAME="db", CLIENT={"host": "localhost", "notAnOption": 1}).ensure_connection()


def test_unreachable_server_is_operational_error_naming_address(django_db_blocker):
    db = wrapper(
        NAME="db", CLIENT={"host": "127.0.0.1", "port": 9, "serverSelectionTimeoutMS": 200}
    )
    with django_db_blocker.unblock(), pytest.raises(OperationalError, match=r"127\.0\.0\.1:9"):
        db.ensure_connection()
        db.server_info  # noqa: B018 - the first command reaches the server


def test_enforce_schema_defaults_to_true():
    assert wrapper(NAME="db").enforce_schema is True
    assert wrapper(NAME="db", ENFORCE_SCHEMA=False).enforce_schema is False


def test_logging_dictconfig_is_applied():
    wrapper(
        NAME="db",
        LOGGING={"loggers": {"django_mongo_backend": {"level": "DEBUG"}}},
    )
    assert logging.getLogger("django_mongo_backend").level == logging.DEBUG
    logging.getLogger("django_mongo_backend").setLevel(logging.NOTSET)


@pytest.mark.django_db
def test_commands_are_logged_at_debug(caplog):
    from tests.testapp.models import Tag

    with caplog.at_level(logging.DEBUG, logger="django_mongo_backend"):
        Tag.objects.filter(name="x").exists()
    assert any("db.testapp_tag.aggregate" in record.getMessage() for record in caplog.records)


def test_embedded_host_becomes_a_mongodb_uri(tmp_path):
    from django_mongo_backend.embedded import launcher

    try:
        params = wrapper(NAME="db", CLIENT={"host": f"embedded://{tmp_path}"})
        uri = params.get_connection_params()["client"]["host"]
        assert uri.startswith("mongodb://127.0.0.1:")
    finally:
        launcher.stop_server(tmp_path)


@pytest.mark.django_db
def test_a_database_time_zone_other_than_utc_is_refused_not_ignored():
    import datetime

    from django.db import NotSupportedError, connection

    from tests.testapp.models import AllTypes

    original = connection.settings_dict.get("TIME_ZONE")
    connection.settings_dict["TIME_ZONE"] = "Asia/Bangkok"
    try:
        with pytest.raises(NotSupportedError, match="TIME_ZONE"):
            list(AllTypes.objects.values_list("moment", flat=True))
        # (last: an error leaving save()'s atomic block ends the test's transaction)
        with pytest.raises(NotSupportedError, match="UTC instants"):
            AllTypes.objects.create(moment=datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC))
    finally:
        connection.settings_dict["TIME_ZONE"] = original
