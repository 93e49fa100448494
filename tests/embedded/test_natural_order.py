"""The shuffle mode (``server/ordering.py``): what MongoDB leaves unordered comes in any order.

MongoDB manual, ``cursor.sort()``, *Sort Consistency*: "MongoDB does not store documents in a
collection in a particular order. When sorting on a field which contains duplicate values,
documents containing those values may be returned in any order." (``$sort`` (aggregation),
*Sort Stability*, says the same of pipelines.) A query without a sort, or with a limit and no
sort, may return any of its matches in any order. With ``--shuffle-unordered`` /
``DJANGO_MONGO_EMBEDDED_SHUFFLE=1`` the server uses that freedom at random, so code relying on
an order MongoDB never promised fails here too.

Each property is checked over several runs of the same read: with 30 documents, two runs of a
true shuffle agree with probability 1/30!, so "the orders differ across runs" cannot fail by
chance, while an order the engine fixes fails it every time. The sorted parts of every result
are checked exactly.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time

import pymongo
import pytest
from mongoeco import AsyncMongoClient

from django_mongo_backend.embedded import launcher
from django_mongo_backend.embedded.server import ordering, process
from django_mongo_backend.embedded.server import wire as _wire  # noqa: F401 - installs patches
from django_mongo_backend.embedded.server.engine import create_engine

RUNS = 6
DOCUMENTS = [{"_id": i, "g": i % 3, "tags": [f"t{i % 2}"], "k": [i % 3, 9]} for i in range(30)]


@pytest.fixture
def shuffled():
    previous = ordering.is_enabled()
    ordering.enable(True)
    yield
    ordering.enable(previous)


def engine_runs(setup, read, runs=RUNS):
    """``read(db)`` ``runs`` times on a fresh in-memory engine prepared by ``setup(db)``."""

    async def run():
        client = AsyncMongoClient(create_engine(None))
        async with client:
            db = client["t"]
            await setup(db)
            return [await read(db) for _ in range(runs)]

    return asyncio.run(run())


async def insert(db):
    await db["c"].insert_many(DOCUMENTS)


async def insert_indexed(db):
    await insert(db)
    await db["c"].create_index("g")


def ids(documents):
    return [document["_id"] for document in documents]


def assert_shuffled(orders, expected_ids):
    """Each run returns exactly ``expected_ids``, and not always in the same order."""
    for order in orders:
        assert sorted(order) == sorted(expected_ids)
    assert len({tuple(order) for order in orders}) > 1


@pytest.mark.parametrize("setup", [insert, insert_indexed], ids=["scan", "indexed"])
def test_a_find_without_sort_returns_its_matches_in_any_order(shuffled, setup):
    async def read(db):
        return ids(await db["c"].find({"g": {"$gte": 1}}).to_list())

    assert_shuffled(engine_runs(setup, read), [d["_id"] for d in DOCUMENTS if d["g"] >= 1])


def test_a_python_evaluated_filter_returns_its_matches_in_any_order(shuffled):
    """An array field sends the engine's filter to Python over a whole-collection read."""

    async def read(db):
        return ids(await db["c"].find({"tags": "t0"}).to_list())

    assert_shuffled(engine_runs(insert, read), [d["_id"] for d in DOCUMENTS if d["_id"] % 2 == 0])


def test_a_limit_without_sort_selects_any_subset(shuffled):
    async def read(db):
        return ids(await db["c"].find().limit(3).to_list())

    subsets = engine_runs(insert, read, runs=10)
    assert all(len(set(subset)) == 3 for subset in subsets)
    assert len(set().union(*subsets)) > 3


@pytest.mark.parametrize("setup", [insert, insert_indexed], ids=["scan", "indexed"])
def test_sort_ties_come_in_any_order_and_the_sort_holds(shuffled, setup):
    async def read(db):
        return [(d["g"], d["_id"]) for d in await db["c"].find().sort("g", -1).to_list()]

    runs = engine_runs(setup, read)
    for run in runs:
        assert [g for g, _ in run] == sorted((d["g"] for d in DOCUMENTS), reverse=True)
    assert_shuffled([[i for _, i in run] for run in runs], ids(DOCUMENTS))


def test_a_page_of_sort_ties_is_any_page(shuffled):
    """skip/limit apply after the sort: a page inside a run of ties holds any of those ties."""

    async def read(db):
        return ids(await db["c"].find().sort("g", 1).skip(2).limit(5).to_list())

    pages = engine_runs(insert_indexed, read, runs=10)
    zeros = {d["_id"] for d in DOCUMENTS if d["g"] == 0}
    assert all(len(page) == 5 and set(page) <= zeros for page in pages)
    assert len({frozenset(page) for page in pages}) > 1


def test_python_sort_ties_come_in_any_order(shuffled):
    """Array sort keys (an array sorts by its least element ascending) sort in Python."""

    async def read(db):
        return ids(await db["c"].find().sort("k", 1).to_list())

    runs = engine_runs(insert, read)
    by_g = {d["_id"]: d["g"] for d in DOCUMENTS}
    for run in runs:
        assert [by_g[i] for i in run] == sorted(by_g.values())
    assert_shuffled(runs, ids(DOCUMENTS))


@pytest.mark.parametrize("setup", [insert, insert_indexed], ids=["scan", "indexed"])
def test_a_one_document_read_returns_any_match(shuffled, setup):
    async def read(db):
        return (await db["c"].find_one({"g": 1}))["_id"]

    found = engine_runs(setup, read, runs=12)
    assert {by % 3 for by in found} == {1}
    assert len(set(found)) > 1


def test_aggregate_source_group_order_and_sort_ties_are_any(shuffled):
    async def read(db):
        unsorted = ids(await db["c"].aggregate([{"$match": {"g": {"$ne": 2}}}]).to_list())
        groups = ids(
            await db["c"]
            .aggregate([{"$group": {"_id": {"$mod": ["$_id", 10]}, "n": {"$sum": 1}}}])
            .to_list()
        )
        ties = ids(await db["c"].aggregate([{"$sort": {"g": 1}}]).to_list())
        return unsorted, groups, ties

    unsorted, groups, ties = zip(*engine_runs(insert, read), strict=True)
    assert_shuffled(unsorted, [d["_id"] for d in DOCUMENTS if d["g"] != 2])
    assert_shuffled(groups, list(range(10)))
    by_g = {d["_id"]: d["g"] for d in DOCUMENTS}
    assert all([by_g[i] for i in run] == sorted(by_g.values()) for run in ties)
    assert_shuffled(ties, ids(DOCUMENTS))


def test_lookup_arrays_list_their_documents_in_any_order(shuffled):
    async def setup(db):
        await insert(db)
        await db["one"].insert_one({"_id": "x", "g": 1})

    async def read(db):
        (joined,) = await (
            db["one"]
            .aggregate(
                [{"$lookup": {"from": "c", "localField": "g", "foreignField": "g", "as": "j"}}]
            )
            .to_list()
        )
        return ids(joined["j"])

    assert_shuffled(engine_runs(setup, read), [d["_id"] for d in DOCUMENTS if d["g"] == 1])


def test_off_the_engine_order_is_stable():
    """The default: one order, the same every time (easier to debug)."""
    previous = ordering.is_enabled()
    ordering.enable(False)
    try:

        async def read(db):
            return ids(await db["c"].find().to_list())

        runs = engine_runs(insert, read)
    finally:
        ordering.enable(previous)
    assert len({tuple(run) for run in runs}) == 1


# -- turning it on ------------------------------------------------------------------------------


def wire_orders(info, runs=RUNS):
    client = pymongo.MongoClient(launcher.uri_for(info), serverSelectionTimeoutMS=10_000)
    try:
        collection = client["t"]["c"]
        collection.insert_many(DOCUMENTS)
        return [ids(collection.find()) for _ in range(runs)]
    finally:
        client.close()


def test_the_environment_variable_reaches_servers_the_launcher_starts(tmp_path, monkeypatch):
    monkeypatch.setenv(ordering.ENV_VAR, "1")
    info = launcher.ensure_server(tmp_path)
    try:
        assert_shuffled(wire_orders(info), ids(DOCUMENTS))
    finally:
        launcher.stop_server(tmp_path)


def test_the_command_line_flag_turns_it_on(tmp_path, monkeypatch):
    monkeypatch.setenv(ordering.ENV_VAR, "0")
    command = [sys.executable, "-m", "django_mongo_backend.embedded", "--dbpath", str(tmp_path)]
    child = subprocess.Popen(
        [*command, "--shuffle-unordered"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=os.environ.copy(),
    )
    try:
        deadline = time.monotonic() + 60
        info = None
        while info is None and time.monotonic() < deadline:
            info = process.read_server_info(tmp_path)
            time.sleep(0.05)
        assert info is not None, "the server did not start"
        assert json.loads((tmp_path / process.INFO_FILE).read_text())["pid"] == child.pid
        assert_shuffled(wire_orders(info), ids(DOCUMENTS))
    finally:
        child.terminate()
        child.wait(timeout=30)


@pytest.mark.parametrize(
    ("value", "on"), [("1", True), ("true", True), ("0", False), ("", False), ("no", False)]
)
def test_the_environment_values(value, on):
    assert ordering.enabled_by_environment({ordering.ENV_VAR: value}) is on
