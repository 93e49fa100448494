"""Atlas Search index management, refused as a MongoDB 7.0 server outside Atlas refuses it.

MongoDB 7.0 has the search index commands but runs them only with a search index management
host (``searchIndexManagementHostAndPort``, set on Atlas); without one every command fails
with ``CommandNotSupported`` (115) before looking at its arguments or collection
(``throwIfNotRunningWithRemoteSearchIndexManagement`` in the server's
``search_index_commands.cpp``), and the ``$listSearchIndexes`` stage fails when the pipeline
is parsed (6047401). The driver specification tests (``index-management``) expect exactly
such an error mentioning Atlas; mongoeco answered "no such command" and "Unsupported
aggregation stage".
"""

from __future__ import annotations

from .errors import server_error

COMMAND_MESSAGE = "Search index commands are only supported with Atlas."
LIST_STAGE = "$listSearchIndexes"
LIST_STAGE_CODE = 6047401
LIST_STAGE_MESSAGE = "$listSearchIndexes stage is only allowed on MongoDB Atlas"


async def refuse_command(executor, context):
    raise server_error(115, "CommandNotSupported", COMMAND_MESSAGE)


def check_stage(operator):
    """Refuse ``$listSearchIndexes`` wherever a pipeline names it."""
    if operator == LIST_STAGE:
        raise server_error(LIST_STAGE_CODE, f"Location{LIST_STAGE_CODE}", LIST_STAGE_MESSAGE)


#: The search index commands of MongoDB 7.0 -> their handler.
COMMANDS = {
    "createSearchIndexes": refuse_command,
    "updateSearchIndex": refuse_command,
    "dropSearchIndex": refuse_command,
}
