"""Transactions known from the settings, without a round trip (django_mongo_backend/deployment.py).

DRF's suite reads ``connection.features.uses_savepoints`` while a test module is imported, where
pytest-django refuses database access; settings that admit only deployments with transactions
answer it without asking the server, and every other one still asks (a standalone mongod has no
transactions).
"""

from __future__ import annotations

import pytest
from django.db import OperationalError

from django_mongo_backend.deployment import transactions_known
from tests.backend.wrappers import DEFAULTS
from tests.backend.wrappers import unconnected_wrapper as wrapper


def known(**settings):
    return transactions_known({**DEFAULTS, "NAME": "db", **settings})


@pytest.mark.parametrize(
    "settings",
    [
        {"CLIENT": {"host": "embedded:///srv/data"}},
        {"HOST": "embedded:///srv/data"},
        {"HOST": "mongodb://h1,h2/?replicaSet=rs"},
        {"HOST": "mongodb://u:p@h1/app?authSource=admin&replicaset=rs"},  # any case, as pymongo
        {"CLIENT": {"host": ["h1:27017", "h2:27017"], "replicaSet": "rs"}},
        {"HOST": "h1", "OPTIONS": {"ReplicaSet": "rs"}},
        {"HOST": "mongodb://lb.example/?loadBalanced=true"},
        {"CLIENT": {"host": "lb.example", "loadBalanced": True}},
    ],
)
def test_settings_admitting_only_servers_with_transactions_answer_without_the_server(settings):
    assert known(**settings) is True


@pytest.mark.parametrize(
    "settings",
    [
        {"HOST": "mongodb://db.example"},  # a standalone, a replica set member or a mongos
        {"HOST": "mongodb://db.example/?directConnection=true"},
        {"HOST": "mongodb+srv://cluster.example"},  # its TXT record is not resolved here
        {"HOST": "mongodb://db.example/?loadBalanced=false"},
        {"HOST": "mongodb://db.example/?replicaSet="},
        {"CLIENT": {"host": "db.example", "port": 27017}},
        {},
        {"CLIENT": "mongodb://x"},  # a mistake get_connection_params reports
    ],
)
def test_other_settings_leave_it_to_the_server(settings):
    assert known(**settings) is None


def test_keyword_arguments_win_over_the_uri_as_in_pymongo():
    assert known(HOST="mongodb://h/?loadBalanced=true", CLIENT={"loadBalanced": False}) is None
    assert known(HOST="mongodb://h/?loadBalanced=false", CLIENT={"loadBalanced": True}) is True


def test_flags_read_at_import_time_need_no_connection(tmp_path):
    """As DRF's test module reads it: pytest-django blocks database access here (no django_db
    mark), and the embedded server named is never started."""
    db = wrapper(NAME="db", CLIENT={"host": f"embedded://{tmp_path / 'never-started'}"})
    assert db.features.uses_savepoints is True
    assert db.features.has_select_for_update is True
    assert db.connection is None
    assert not (tmp_path / "never-started").exists()


def test_without_such_settings_reading_the_flag_asks_the_server():
    """A URI naming no set: the answer needs ``hello``, which pytest-django refuses outside a
    test's database access, as before."""
    db = wrapper(NAME="db", HOST="mongodb://127.0.0.1:9/?serverSelectionTimeoutMS=200")
    with pytest.raises(RuntimeError, match="Database access not allowed"):
        db.features.supports_transactions  # noqa: B018


def test_the_driver_selects_no_server_outside_the_named_set(embedded_uri, django_db_blocker):
    """Why a ``replicaSet`` name is a guarantee: a server answering another set name (or none,
    as a standalone does) is never selected, so no command runs on it."""
    address = embedded_uri.split("://", 1)[1].split("/", 1)[0].split("?", 1)[0]
    db = wrapper(
        NAME="db",
        HOST=f"mongodb://{address}/?replicaSet=not-this-set&serverSelectionTimeoutMS=300",
    )
    assert db.features.supports_transactions is True
    with django_db_blocker.unblock():
        try:
            with pytest.raises(OperationalError):
                db.server_info  # noqa: B018
        finally:
            db.close()


def test_a_uri_without_a_set_name_gets_the_servers_answer(embedded_uri, django_db_blocker):
    address = embedded_uri.split("://", 1)[1].split("/", 1)[0].split("?", 1)[0]
    db = wrapper(NAME="db", HOST=f"mongodb://{address}/?directConnection=true")
    assert transactions_known(db.settings_dict) is None
    with django_db_blocker.unblock():
        try:
            assert db.features.supports_transactions is True  # hello: the embedded primary
        finally:
            db.close()
