"""What a transaction may not run, and how MongoDB 7.0 refuses it.

The manual's "Transactions and Operations" lists what transactions allow; the server enforces
it in two places (mongodb/mongo):

- before the session is checked out, ``CommandHelpers::canUseTransactions`` (``commands.cpp``,
  called from ``validateSessionOptions`` in ``transaction_validation.cpp``) refuses ``count``,
  every command not ``allowedInTransactions()`` (``explain``, ``listCollections``,
  ``listIndexes``, ``drop``...), the ``local`` and ``config`` databases and ``system.profile``
  / ``system.views`` with ``OperationNotSupportedInTransaction`` (263); the transaction goes
  on as if the command had not been sent;
- while the statement runs, ``Pipeline::validateCommon`` refuses stages whose constraints say
  ``TransactionRequirement::kNotAllowed`` (263, "Stage not supported inside of a
  multi-document transaction"), and write commands refuse ``system.*`` collections (50791,
  ``findAndModify``: 50781). Those are statement failures: the transaction is aborted, so what
  follows gets ``NoSuchTransaction`` (251).

pymongo's ``count_documents`` is an aggregation, so it runs in transactions. Every test also
holds against a real replica set (``MONGODB_URI``).
"""

from __future__ import annotations

import pytest
from pymongo.errors import OperationFailure

TRANSIENT = "TransientTransactionError"


@pytest.fixture
def coll(mongo_db):
    mongo_db.things.insert_many([{"_id": i, "n": i} for i in range(3)])
    mongo_db.others.insert_one({"_id": "other"})
    return mongo_db.things


@pytest.fixture
def session(coll):
    with coll.database.client.start_session() as session:
        session.start_transaction()
        coll.insert_one({"_id": "tx"}, session=session)  # the transaction has begun
        yield session
        if session.in_transaction:
            session.abort_transaction()


def assert_refused(error, message):
    assert error.code == 263
    assert error.details["codeName"] == "OperationNotSupportedInTransaction"
    assert error.details["errmsg"] == message
    assert not error.has_error_label(TRANSIENT)


def assert_aborted(coll, session):
    with pytest.raises(OperationFailure) as raised:
        coll.find_one({}, session=session)
    assert raised.value.code == 251
    assert raised.value.has_error_label(TRANSIENT)


def commit_and_check(coll, session):
    """The refused command changed nothing: the transaction commits its insert."""
    session.commit_transaction()
    assert coll.find_one({"_id": "tx"}) == {"_id": "tx"}


def test_count_is_refused_and_the_transaction_goes_on(coll, session):
    with pytest.raises(OperationFailure) as raised:
        coll.database.command("count", "things", session=session)
    assert_refused(
        raised.value,
        "Cannot run 'count' in a multi-document transaction. Please see "
        "http://dochub.mongodb.org/core/transaction-count for a recommended alternative.",
    )
    assert coll.count_documents({}, session=session) == 4
    commit_and_check(coll, session)


def test_count_as_the_first_statement_starts_nothing(coll):
    """count.yml: refused, then abortTransaction (whose answer the driver ignores)."""
    with coll.database.client.start_session() as session:
        session.start_transaction()
        with pytest.raises(OperationFailure) as raised:
            coll.database.command("count", "things", query={"_id": 1}, session=session)
        assert raised.value.code == 263
        session.abort_transaction()


@pytest.mark.parametrize(
    ("command", "arguments"),
    [
        ("listCollections", {}),
        ("listIndexes", {"listIndexes": "things"}),
        ("explain", {"explain": {"find": "things"}}),
        ("drop", {"drop": "others"}),
        ("dropIndexes", {"dropIndexes": "things", "index": "*"}),
        ("collStats", {"collStats": "things"}),
        ("dbStats", {}),
        ("ping", {}),
    ],
)
def test_commands_not_allowed_in_transactions_are_refused(coll, session, command, arguments):
    with pytest.raises(OperationFailure) as raised:
        coll.database.command({command: 1, **arguments}, session=session)
    assert_refused(raised.value, f"Cannot run '{command}' in a multi-document transaction.")
    commit_and_check(coll, session)
    assert coll.database.others.find_one() == {"_id": "other"}


def test_the_local_and_config_databases_are_refused(coll, session):
    client = coll.database.client
    with pytest.raises(OperationFailure) as raised:
        client.local.startup_log.find_one({}, session=session)
    assert_refused(
        raised.value, "Cannot run command against the 'local' database in a transaction."
    )
    with pytest.raises(OperationFailure) as raised:
        client.config.anything.find_one({}, session=session)
    assert_refused(raised.value, "Cannot run command against the config database in a transaction.")
    commit_and_check(coll, session)


def test_system_profile_is_refused(coll, session):
    with pytest.raises(OperationFailure) as raised:
        coll.database["system.profile"].find_one({}, session=session)
    name = coll.database.name
    assert_refused(
        raised.value,
        f"Cannot run command against the '{name}.system.profile' collection in a transaction.",
    )
    commit_and_check(coll, session)


@pytest.mark.parametrize(
    "stage",
    [
        {"$out": "copy"},
        {"$merge": {"into": "copy"}},
        {"$unionWith": "others"},
        {"$collStats": {"count": {}}},
        {"$indexStats": {}},
        {"$planCacheStats": {}},
    ],
    ids=lambda stage: next(iter(stage)),
)
def test_stages_not_allowed_in_transactions_fail_and_abort(coll, session, stage):
    pipeline = [stage] if next(iter(stage)) != "$out" else [{"$match": {}}, stage]
    if next(iter(stage)) == "$merge":
        pipeline = [{"$match": {}}, stage]
    with pytest.raises(OperationFailure) as raised:
        list(coll.aggregate(pipeline, session=session))
    assert_refused(
        raised.value,
        f"Stage not supported inside of a multi-document transaction: {next(iter(stage))}",
    )
    assert_aborted(coll, session)
    assert coll.database.copy.find_one() is None
    assert coll.find_one({"_id": "tx"}) is None


@pytest.mark.parametrize(
    "pipeline",
    [
        [{"$lookup": {"from": "others", "pipeline": [{"$unionWith": "things"}], "as": "x"}}],
        [{"$facet": {"a": [{"$match": {}}], "b": [{"$unionWith": "others"}]}}],
    ],
    ids=["lookup", "facet"],
)
def test_refused_stages_inside_sub_pipelines_are_refused_too(coll, session, pipeline):
    with pytest.raises(OperationFailure) as raised:
        list(coll.aggregate(pipeline, session=session))
    assert_refused(
        raised.value, "Stage not supported inside of a multi-document transaction: $unionWith"
    )
    assert_aborted(coll, session)


def test_aggregations_that_transactions_allow_run(coll, session):
    pipeline = [
        {"$lookup": {"from": "others", "pipeline": [{"$match": {}}], "as": "o"}},
        {"$facet": {"n": [{"$count": "n"}]}},
    ]
    assert list(coll.aggregate(pipeline, session=session)) == [{"n": [{"n": 4}]}]
    assert coll.count_documents({"n": {"$gte": 1}}, session=session) == 2
    assert sorted(coll.distinct("n", {"n": {"$exists": True}}, session=session)) == [0, 1, 2]
    commit_and_check(coll, session)


@pytest.mark.parametrize(
    ("write", "code"),
    [
        (lambda db, s: db["system.js"].insert_one({"_id": "f"}, session=s), 50791),
        (lambda db, s: db["system.js"].delete_many({}, session=s), 50791),
        (
            lambda db, s: db["system.js"].find_one_and_update(
                {"_id": "f"}, {"$set": {"v": 1}}, upsert=True, session=s
            ),
            50781,
        ),
    ],
    ids=["insert", "delete", "findAndModify"],
)
def test_writes_to_system_collections_fail_and_abort(coll, session, write, code):
    with pytest.raises(OperationFailure) as raised:
        write(coll.database, session)
    assert raised.value.code == code
    name = coll.database.name
    assert raised.value.details["errmsg"] == (
        f"Cannot write to system collection {name}.system.js within a transaction."
    )
    assert_aborted(coll, session)
