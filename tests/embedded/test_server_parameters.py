"""``getParameter`` and ``setParameter`` (corrections/server_parameters.py).

``src/mongo/db/commands/parameters.cpp``: both run on ``admin`` only; ``getParameter`` answers
the parameters the command names (all with ``"*"``), as ``{value, settableAtRuntime,
settableAtStartup}`` with ``showDetails``, and fails with InvalidOptions (72) "no option found to
get"; ``setParameter`` answers ``{was: <previous value>}``, refuses an unknown parameter (72),
one settable at startup only (IllegalOperation, 20) and a value its validator refuses
(BadValue, 2). ``ttl.idl``: ``ttlMonitorSleepSecs`` (int, 60, ``gt: 0``) and
``ttlMonitorEnabled`` (bool, true), both ``set_at: [startup, runtime]``; ``maxBSONDepth`` is set
at startup only.

The server is shared by the run: every change is put back.
"""

from __future__ import annotations

import pytest
from bson import Int64
from pymongo.errors import OperationFailure


@pytest.fixture
def admin(mongo_client):
    """The admin database; the TTL parameters are restored afterwards."""
    admin = mongo_client.admin
    names = {"ttlMonitorSleepSecs": 1, "ttlMonitorEnabled": 1}
    before = admin.command("getParameter", 1, **names)
    yield admin
    admin.command(
        "setParameter",
        1,
        ttlMonitorSleepSecs=before["ttlMonitorSleepSecs"],
        ttlMonitorEnabled=before["ttlMonitorEnabled"],
    )


def parameters(answer):
    """An answer without its generic reply fields."""
    return {k: v for k, v in answer.items() if k not in ("ok", "$clusterTime", "operationTime")}


def refused(database, command):
    with pytest.raises(OperationFailure) as raised:
        database.command(command)
    return raised.value


def test_get_parameter_answers_the_named_parameters(admin):
    answer = admin.command({"getParameter": 1, "ttlMonitorSleepSecs": 1, "noSuchParameter": 1})
    assert set(parameters(answer)) == {"ttlMonitorSleepSecs"}
    assert isinstance(answer["ttlMonitorSleepSecs"], int) and answer["ttlMonitorSleepSecs"] > 0
    assert isinstance(
        admin.command("getParameter", 1, ttlMonitorEnabled=1)["ttlMonitorEnabled"], bool
    )


def test_get_parameter_details_and_every_parameter(admin):
    details = admin.command({"getParameter": {"showDetails": True}, "ttlMonitorSleepSecs": 1})
    assert details["ttlMonitorSleepSecs"]["settableAtRuntime"] is True
    assert details["ttlMonitorSleepSecs"]["settableAtStartup"] is True
    assert isinstance(details["ttlMonitorSleepSecs"]["value"], int)
    every = admin.command({"getParameter": "*"})
    assert {"ttlMonitorSleepSecs", "ttlMonitorEnabled", "maxBSONDepth"} <= set(every)
    every_again = admin.command({"getParameter": {"allParameters": True}})
    assert parameters(every_again) == parameters(every)
    # AtomicWord<long long> (query_knobs.idl): a BSON long.
    assert isinstance(every["internalQueryFacetMaxOutputDocSizeBytes"], Int64)


def test_set_parameter_answers_the_previous_value(admin):
    before = admin.command("getParameter", 1, ttlMonitorSleepSecs=1)["ttlMonitorSleepSecs"]
    assert admin.command("setParameter", 1, ttlMonitorSleepSecs=7)["was"] == before
    assert admin.command("getParameter", 1, ttlMonitorSleepSecs=1)["ttlMonitorSleepSecs"] == 7
    # A number is coerced to the parameter's int (BSONElement::coerce), a double truncated.
    assert admin.command("setParameter", 1, ttlMonitorSleepSecs=9.9)["was"] == 7
    assert admin.command("getParameter", 1, ttlMonitorSleepSecs=1)["ttlMonitorSleepSecs"] == 9
    # A bool parameter takes any value's truth.
    admin.command("setParameter", 1, ttlMonitorEnabled=0)
    assert admin.command("getParameter", 1, ttlMonitorEnabled=1)["ttlMonitorEnabled"] is False


def test_parameter_commands_refuse_as_mongod(admin, mongo_client):
    other = mongo_client.get_database("not_admin")
    error = refused(other, {"getParameter": 1, "ttlMonitorSleepSecs": 1})
    assert error.code == 13 and "admin database" in str(error)
    assert refused(other, {"setParameter": 1, "ttlMonitorSleepSecs": 5}).code == 13
    error = refused(admin, {"getParameter": 1, "noSuchParameter": 1})
    assert error.code == 72 and "no option found to get" in str(error)
    error = refused(admin, {"setParameter": 1, "noSuchParameter": 1})
    assert error.code == 72 and "unrecognized parameter [noSuchParameter]" in str(error)
    error = refused(admin, {"setParameter": 1, "ttlMonitorSleepSecs": 0})
    assert error.code == 2 and "greater than 0" in str(error)
    assert refused(admin, {"setParameter": 1, "ttlMonitorSleepSecs": "often"}).code == 2
    error = refused(admin, {"setParameter": 1, "maxBSONDepth": 100})
    assert error.code == 20 and "not allowed to change [maxBSONDepth] at runtime" in str(error)
    assert refused(admin, {"setParameter": 1}).code == 72
    assert admin.command("getParameter", 1, maxBSONDepth=1)["maxBSONDepth"] == 200
