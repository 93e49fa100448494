"""The panel's helpers on ``MongoCommand`` values: storage, shape and the explain document.

No toolbar and no server needed: these decide what is grouped and, above all, what the explain
view agrees to send (reads only).
"""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal

import pytest
from bson import Decimal128, Int64, ObjectId

from django_mongo_backend.mongo_command import MongoCommand
from django_mongo_backend.toolbar import commands


def test_spec_round_trips_bson_types():
    """The store keeps JSON; the command explained later must be the command that ran."""
    command = MongoCommand(
        "blog_post",
        "aggregate",
        [
            {
                "$match": {
                    "_id": ObjectId("65a1b2c3d4e5f60718293a4b"),
                    "views": Int64(7),
                    "ratio": 0.5,
                    "price": Decimal128(Decimal("9.99")),
                    "at": datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.UTC),
                    "key": uuid.UUID("12345678-1234-5678-1234-567812345678"),
                    "blob": b"\x00\x01",
                }
            }
        ],
        allowDiskUse=True,
    )
    again = commands.from_spec(commands.to_spec(command))
    assert str(again) == str(command)
    match = again.args[0][0]["$match"]
    assert type(match["views"]) is Int64
    assert type(match["_id"]) is ObjectId
    assert type(match["price"]) is Decimal128
    assert isinstance(match["key"], uuid.UUID)
    assert match["at"] == datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)
    assert list(match) == ["_id", "views", "ratio", "price", "at", "key", "blob"]  # order kept


def test_shape_blanks_values_but_keeps_keys_operators_and_field_paths():
    project = {"$project": {"x": "$y"}}
    one = MongoCommand("a", "aggregate", [{"$match": {"pk": {"$eq": 1}}}, project])
    two = MongoCommand("a", "aggregate", [{"$match": {"pk": {"$eq": 2}}}, project])
    other_field = MongoCommand("a", "aggregate", [{"$match": {"id": {"$eq": 2}}}])
    other_path = MongoCommand("a", "aggregate", [{"$match": {"pk": 1}}, {"$project": {"x": "$z"}}])
    assert commands.shape(one) == commands.shape(two)
    assert commands.shape(one) == (
        'db.a.aggregate([{"$match": {"pk": {"$eq": "?"}}}, {"$project": {"x": "$y"}}])'
    )
    assert commands.shape(one) != commands.shape(other_field)
    assert commands.shape(one) != commands.shape(other_path)


def test_shape_treats_lists_of_values_of_any_length_alike():
    two = MongoCommand("a", "find", {"pk": {"$in": [1, 2]}})
    three = MongoCommand("a", "find", {"pk": {"$in": [4, 5, 6]}})
    assert commands.shape(two) == commands.shape(three) == 'db.a.find({"pk": {"$in": ["?"]}})'


def test_explain_document_of_an_aggregate():
    pipeline = [{"$match": {"x": 1}}]
    command = MongoCommand("blog_post", "aggregate", pipeline, allowDiskUse=True)
    assert commands.explain_document(command) == {
        "aggregate": "blog_post",
        "pipeline": pipeline,
        "cursor": {},
        "allowDiskUse": True,
    }
    database_level = MongoCommand(None, "aggregate", [{"$documents": [{"a": 1}]}])
    assert commands.explain_document(database_level)["aggregate"] == 1


def test_explain_document_of_a_find_maps_pymongo_options():
    command = MongoCommand(
        "blog_post", "find", {"x": 1}, ["title"], sort=[("title", 1), ("_id", -1)], limit=5
    )
    document = commands.explain_document(command)
    assert document == {
        "find": "blog_post",
        "filter": {"x": 1},
        "projection": {"title": 1},
        "sort": {"title": 1, "_id": -1},
        "limit": 5,
    }
    assert list(document["sort"]) == ["title", "_id"]  # sort order is key order
    assert commands.explain_document(MongoCommand("c", "find")) == {"find": "c", "filter": {}}


@pytest.mark.parametrize(
    "command",
    [
        MongoCommand("c", "insert_many", [{"a": 1}]),
        MongoCommand("c", "update_many", {}, {"$set": {"a": 1}}),
        MongoCommand("c", "delete_many", {}),
        MongoCommand("c", "drop"),
        MongoCommand(None, "command", "dropDatabase"),
        MongoCommand(None, "command", "explain", {"delete": "c", "deletes": []}),
        MongoCommand("c", "create_index", [("a", 1)]),
        # MongoDB manual, $out and $merge: an aggregation with either writes.
        MongoCommand("c", "aggregate", [{"$match": {}}, {"$out": "other"}]),
        MongoCommand("c", "aggregate", [{"$merge": {"into": "other"}}]),
        # Options the panel cannot map are refused rather than dropped.
        MongoCommand("c", "find", {}, None, 0, 5),
        MongoCommand("c", "find", {}, cursor_type=2),
        MongoCommand("c", "aggregate", [], session_id=1),
    ],
    ids=str,
)
def test_only_reads_are_explained(command):
    assert not commands.explainable(command)
    with pytest.raises(commands.NotExplainable):
        commands.explain_document(command)


def test_plan_stages_reads_both_explain_layouts():
    """MongoDB manual, "Explain Results": the classic engine's winningPlan is a tree of
    ``stage``/``inputStage``; the slot-based engine's puts that tree under ``queryPlan``; an
    aggregation's explain has it under ``stages[0].$cursor.queryPlanner``."""
    classic = {
        "queryPlanner": {
            "winningPlan": {"stage": "FETCH", "inputStage": {"stage": "IXSCAN"}},
            "rejectedPlans": [{"stage": "COLLSCAN"}],
        },
        "executionStats": {"executionStages": {"stage": "FETCH"}},
    }
    slot_based = {
        "queryPlanner": {
            "winningPlan": {
                "queryPlan": {"stage": "GROUP", "inputStage": {"stage": "COLLSCAN"}},
                "slotBasedPlan": {"stages": "[2] project ..."},
            }
        }
    }
    aggregate = {
        "stages": [
            {"$cursor": {"queryPlanner": {"winningPlan": {"stage": "COLLSCAN"}}}},
            {"$group": {"_id": "$a"}},
        ]
    }
    assert commands.plan_stages(classic) == ["FETCH", "IXSCAN"]
    assert commands.plan_stages(slot_based) == ["GROUP", "COLLSCAN"]
    assert commands.plan_stages(aggregate) == ["COLLSCAN"]
    assert commands.plan_stages({"ok": 1}) == []
