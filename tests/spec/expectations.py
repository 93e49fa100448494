"""Known failures: spec tests the embedded server fails today, each with its cause.

A failing spec test is a deviation of the embedded server from MongoDB 7.0 (or from a replica
set, which it should present itself as). CAUSES says why, in one line; EXPECTED_FAILURES maps
each failing test (``directory/file: description``) to its cause. ``run.py --strict`` fails
when a test fails that is not listed here, or when a listed test passes (remove it then).
Tests *left out* are not listed here: their one-line reason comes from requirements.py (no
requirement admits a 7.0 replica set), from the spec's own skipReason, or from what the runner
does not implement; run.py prints them counted by reason (``-v``: each test).
"""

# ruff: noqa: E501 (the keys below are spec test names, which are long)

CAUSES = {
    "one-member-set": (
        "the set has no secondary: a secondary read preference in a transaction times out in "
        "server selection before the driver refuses it (drivers' CI runs these on three members)"
    ),
    "failpoint-modes": (
        "configureFailPoint supports only failCommand (onPrimaryTransactionalWrite is refused)"
    ),
    "collation": (
        "only 'simple' and 'en' collations are supported, and the refusal has no code (a bulk "
        "write error without 'code' even breaks pymongo)"
    ),
    "snapshot": (
        "readConcern snapshot is neither honoured for reads (no point-in-time view) nor refused"
        " for writes and listing commands"
    ),
    "clustered-index": (
        "clustered collections: listCollections lacks clusteredIndex.v, listIndexes lacks the "
        "clustered index"
    ),
    "timeseries": ("time series collections enforce a unique _id (MongoDB allows duplicates)"),
    "return-key": ("find returnKey returns the whole document instead of the index keys"),
}

EXPECTED_FAILURES = {
    "collection-management/clustered-indexes: listCollections includes clusteredIndex": "clustered-index",
    "collection-management/clustered-indexes: listIndexes returns the index": "clustered-index",
    "collection-management/timeseries-collection: insertMany with duplicate ids": "timeseries",
    "command-monitoring/find: A successful find with showRecordId and returnKey": "return-key",
    "crud/aggregate-collation: Aggregate with collation": "collation",
    "crud/bulkWrite-collation: BulkWrite with delete operations and collation": "collation",
    "crud/bulkWrite-collation: BulkWrite with update operations and collation": "collation",
    "crud/count-collation: Count documents with collation": "collation",
    "crud/count-collation: Deprecated count with collation": "collation",
    "crud/deleteMany-collation: DeleteMany when many documents match with collation": "collation",
    "crud/deleteOne-collation: DeleteOne when many documents matches with collation": "collation",
    "crud/distinct-collation: Distinct with a collation": "collation",
    "crud/find-collation: Find with a collation": "collation",
    "crud/findOneAndDelete-collation: FindOneAndDelete when one document matches with collation": "collation",
    "crud/findOneAndReplace-collation: FindOneAndReplace when one document matches with collation returning the document after modification": "collation",
    "crud/findOneAndUpdate-collation: FindOneAndUpdate when many documents match with collation returning the document before modification": "collation",
    "crud/replaceOne-collation: ReplaceOne when one document matches with collation": "collation",
    "crud/updateMany-collation: UpdateMany when many documents match with collation": "collation",
    "crud/updateOne-collation: UpdateOne when one document matches with collation": "collation",
    "retryable-writes/bulkWrite: All commands are retried": "failpoint-modes",
    "retryable-writes/bulkWrite: Both commands are retried after their first statement fails": "failpoint-modes",
    "retryable-writes/bulkWrite: BulkWrite with unordered execution": "failpoint-modes",
    "retryable-writes/bulkWrite: First command is retried": "failpoint-modes",
    "retryable-writes/bulkWrite: First insertOne is never committed": "failpoint-modes",
    "retryable-writes/bulkWrite: Second command is retried after its second statement fails": "failpoint-modes",
    "retryable-writes/bulkWrite: Second updateOne is never committed": "failpoint-modes",
    "retryable-writes/bulkWrite: Single-document write following deleteMany is retried": "failpoint-modes",
    "retryable-writes/bulkWrite: Single-document write following updateMany is retried": "failpoint-modes",
    "retryable-writes/bulkWrite: Third updateOne is never committed": "failpoint-modes",
    "retryable-writes/deleteOne: DeleteOne is committed on first attempt": "failpoint-modes",
    "retryable-writes/deleteOne: DeleteOne is never committed": "failpoint-modes",
    "retryable-writes/deleteOne: DeleteOne is not committed on first attempt": "failpoint-modes",
    "retryable-writes/findOneAndDelete: FindOneAndDelete is committed on first attempt": "failpoint-modes",
    "retryable-writes/findOneAndDelete: FindOneAndDelete is never committed": "failpoint-modes",
    "retryable-writes/findOneAndDelete: FindOneAndDelete is not committed on first attempt": "failpoint-modes",
    "retryable-writes/findOneAndReplace: FindOneAndReplace is committed on first attempt": "failpoint-modes",
    "retryable-writes/findOneAndReplace: FindOneAndReplace is never committed": "failpoint-modes",
    "retryable-writes/findOneAndReplace: FindOneAndReplace is not committed on first attempt": "failpoint-modes",
    "retryable-writes/findOneAndUpdate: FindOneAndUpdate is committed on first attempt": "failpoint-modes",
    "retryable-writes/findOneAndUpdate: FindOneAndUpdate is never committed": "failpoint-modes",
    "retryable-writes/findOneAndUpdate: FindOneAndUpdate is not committed on first attempt": "failpoint-modes",
    "retryable-writes/insertMany: InsertMany fails after multiple network errors": "failpoint-modes",
    "retryable-writes/insertMany: InsertMany succeeds after one network error": "failpoint-modes",
    "retryable-writes/insertMany: InsertMany with unordered execution": "failpoint-modes",
    "retryable-writes/insertOne: InsertOne is committed on first attempt": "failpoint-modes",
    "retryable-writes/insertOne: InsertOne is never committed": "failpoint-modes",
    "retryable-writes/insertOne: InsertOne is not committed on first attempt": "failpoint-modes",
    "retryable-writes/replaceOne: ReplaceOne is committed on first attempt": "failpoint-modes",
    "retryable-writes/replaceOne: ReplaceOne is never committed": "failpoint-modes",
    "retryable-writes/replaceOne: ReplaceOne is not committed on first attempt": "failpoint-modes",
    "retryable-writes/updateOne: UpdateOne is committed on first attempt": "failpoint-modes",
    "retryable-writes/updateOne: UpdateOne is never committed": "failpoint-modes",
    "retryable-writes/updateOne: UpdateOne is not committed on first attempt": "failpoint-modes",
    "retryable-writes/updateOne: UpdateOne with upsert is committed on first attempt": "failpoint-modes",
    "retryable-writes/updateOne: UpdateOne with upsert is never committed": "failpoint-modes",
    "retryable-writes/updateOne: UpdateOne with upsert is not committed on first attempt": "failpoint-modes",
    "sessions/snapshot-sessions-unsupported-ops: Server returns an error on deleteOne with snapshot": "snapshot",
    "sessions/snapshot-sessions-unsupported-ops: Server returns an error on findOneAndUpdate with snapshot": "snapshot",
    "sessions/snapshot-sessions-unsupported-ops: Server returns an error on insertMany with snapshot": "snapshot",
    "sessions/snapshot-sessions-unsupported-ops: Server returns an error on insertOne with snapshot": "snapshot",
    "sessions/snapshot-sessions-unsupported-ops: Server returns an error on listCollections with snapshot": "snapshot",
    "sessions/snapshot-sessions-unsupported-ops: Server returns an error on listDatabases with snapshot": "snapshot",
    "sessions/snapshot-sessions-unsupported-ops: Server returns an error on listIndexes with snapshot": "snapshot",
    "sessions/snapshot-sessions-unsupported-ops: Server returns an error on runCommand with snapshot": "snapshot",
    "sessions/snapshot-sessions-unsupported-ops: Server returns an error on updateOne with snapshot": "snapshot",
    "sessions/snapshot-sessions: Aggregate operation with snapshot": "snapshot",
    "sessions/snapshot-sessions: Distinct operation with snapshot": "snapshot",
    "sessions/snapshot-sessions: Find operation with snapshot": "snapshot",
    "sessions/snapshot-sessions: Mixed operation with snapshot": "snapshot",
    "sessions/snapshot-sessions: Write commands with snapshot session do not affect snapshot reads": "snapshot",
    "sessions/snapshot-sessions: countDocuments operation with snapshot": "snapshot",
    "transactions/read-pref: secondary readPreference": "one-member-set",
    "transactions/run-command: run command fails with explicit secondary read preference": "one-member-set",
    "transactions/run-command: run command fails with secondary read preference from transaction options": "one-member-set",
    "transactions/transaction-options: readPreference inherited from client": "one-member-set",
    "transactions/transaction-options: readPreference inherited from defaultTransactionOptions": "one-member-set",
    "transactions/transaction-options: startTransaction overrides readPreference": "one-member-set",
}
