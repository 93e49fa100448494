"""dbshell: the mongosh command line built from the settings."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from django_mongo_backend.client import DatabaseClient


def args(settings, parameters=()):
    command, env = DatabaseClient.settings_to_cmd_args_env(
        {"NAME": "shop", **settings}, list(parameters)
    )
    assert env is None
    return command


def test_host_port_and_credentials():
    assert args(
        {"HOST": "db.example", "PORT": "27018", "USER": "ann", "PASSWORD": "p@ss:w/rd"}
    ) == ["mongosh", "mongodb://ann:p%40ss%3Aw%2Frd@db.example:27018/shop"]


def test_defaults_to_localhost():
    assert args({}) == ["mongosh", "mongodb://localhost/shop"]


def test_client_dict_wins_and_keeps_uri_options():
    command = args(
        {
            "HOST": "ignored",
            "CLIENT": {
                "host": ["a.example:27017", "b.example"],
                "port": 27019,
                "username": "bob",
                "password": "pw",
                "authSource": "admin",
                "replicaSet": "rs0",
                "tls": True,
                "tz_aware": True,  # a driver option, not part of a connection string
            },
        },
        ["--quiet"],
    )
    assert command == [
        "mongosh",
        "mongodb://bob:pw@a.example:27017,b.example:27019/shop"
        "?authSource=admin&replicaSet=rs0&tls=true",
        "--quiet",
    ]


def test_uri_host_gets_the_database_and_keeps_its_auth_database():
    command = args({"CLIENT": {"host": "mongodb://u:p@h1,h2/admin?replicaSet=rs"}})
    assert command[1] == "mongodb://u:p@h1,h2/shop?replicaSet=rs&authSource=admin"
    srv = args({"HOST": "mongodb+srv://cluster.example/?retryWrites=true"})
    assert srv[1] == "mongodb+srv://cluster.example/shop?retryWrites=true"


def test_database_names_are_escaped():
    assert args({"NAME": "my db/x"})[1] == "mongodb://localhost/my%20db%2Fx"


def test_embedded_host_resolves_to_the_running_server():
    from django.conf import settings

    host = settings.DATABASES["default"]["CLIENT"]["host"]
    if not host.startswith("embedded://"):
        pytest.skip("tests run against a real MongoDB")
    from django_mongo_backend.embedded.launcher import embedded_uri

    server = embedded_uri(host).split("/?")[0]
    uri = args({"CLIENT": {"host": host}})[1]
    assert uri == f"{server}/shop?directConnection=true"
    assert uri.startswith("mongodb://127.0.0.1:")


def test_missing_mongosh_is_a_clear_command_error(monkeypatch):
    monkeypatch.setattr(DatabaseClient, "executable_name", "mongosh-not-installed-here")
    with pytest.raises(CommandError, match="'mongosh-not-installed-here' program installed"):
        call_command("dbshell")
