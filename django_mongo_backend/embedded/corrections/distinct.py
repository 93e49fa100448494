"""``distinct`` takes values only from documents that have the field, as MongoDB does.

MongoDB's ``distinct`` command (``src/mongo/db/commands/distinct.cpp``) collects, from each
matching document, the elements ``extractAllElementsAlongPath`` finds along the key: none for a
document without the field (nor for an empty array), the elements of an array one level down
(an array inside it stays one value), and keeps each value once (``BSONElementSet``: by BSON
comparison, so ``1`` and ``1.0`` are one value). An explicit ``null`` is a value. mongoeco 4.11
answered ``null`` for every document missing the field, so ``distinct("a")`` over ``[{a: 1},
{b: 1}]`` was ``[1, null]`` where MongoDB answers ``[1]``.
"""

from __future__ import annotations

from mongoeco.api._async._database_admin_read_commands import DatabaseAdminReadCommandService
from mongoeco.core.collation import normalize_collation
from mongoeco.core.filtering import QueryEngine
from mongoeco.types import DistinctCommandResult

from .. import registry


def document_values(document, key):
    """The values ``document`` gives ``distinct`` for ``key``: none when the field is missing
    (or an empty array), an array's elements one level down, else the value."""
    values = QueryEngine.extract_values(document, key)
    if not values:
        return []
    # mongoeco lists an array itself first, then its elements; distinct takes the elements.
    return values[1:] if isinstance(values[0], list) else values


async def execute_distinct_command(self, collection_name, key, operation, *, session=None):
    """mongoeco's command, without a ``null`` for the documents that lack ``key``."""
    distinct_values = []
    collation = normalize_collation(operation.collation)
    collection = self._admin._database.get_collection(collection_name)
    async for document in collection._build_cursor(operation, session=session):
        for candidate in document_values(document, key):
            if not any(
                QueryEngine._values_equal(
                    existing, candidate, dialect=self._admin._mongodb_dialect, collation=collation
                )
                for existing in distinct_values
            ):
                distinct_values.append(candidate)
    return DistinctCommandResult(values=distinct_values)


def install():
    """Apply the patch (idempotent)."""
    registry.replace(
        DatabaseAdminReadCommandService,
        "execute_distinct_command",
        execute_distinct_command,
        rule="distinct takes no value from a document missing the key (distinct.cpp, "
        "extractAllElementsAlongPath); an array gives its elements",
        test="tests/embedded/test_distinct.py::test_distinct_skips_documents_without_the_key",
    )
