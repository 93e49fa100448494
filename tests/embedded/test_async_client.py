"""PyMongo's asyncio client against the server: CRUD, aggregation and a transaction."""

from __future__ import annotations

import asyncio

from pymongo import AsyncMongoClient


def test_async_client_crud_aggregate_and_transaction(mongo_uri):
    async def scenario():
        client = AsyncMongoClient(mongo_uri, serverSelectionTimeoutMS=10_000)
        try:
            await client.drop_database("t_async_client")
            coll = client.t_async_client.items
            await coll.insert_many([{"_id": i, "group": i % 2} for i in range(6)])
            assert await coll.find_one({"_id": 3}) == {"_id": 3, "group": 1}
            found = await coll.find({"group": 0}).sort("_id", -1).to_list()
            assert [doc["_id"] for doc in found] == [4, 2, 0]
            cursor = await coll.aggregate(
                [{"$group": {"_id": "$group", "n": {"$sum": 1}}}, {"$sort": {"_id": 1}}]
            )
            assert await cursor.to_list() == [{"_id": 0, "n": 3}, {"_id": 1, "n": 3}]
            async with client.start_session() as session:
                await session.start_transaction()
                await coll.insert_one({"_id": "tx"}, session=session)
                assert await coll.count_documents({}, session=session) == 7
                assert await coll.find_one({"_id": "tx"}) is None
                await session.commit_transaction()
            assert await coll.find_one({"_id": "tx"}) == {"_id": "tx"}
            await asyncio.gather(*(coll.insert_one({"_id": f"c{i}"}) for i in range(10)))
            assert await coll.count_documents({}) == 17
        finally:
            await client.drop_database("t_async_client")
            await client.close()

    asyncio.run(scenario())
