"""``killAllSessions`` and ``killSessions``: abort the open transactions of sessions.

A transaction whose client went away (a dropped connection, a crashed process) keeps its
document locks until it is aborted, so a later write to those documents conflicts. MongoDB's
``killSessions``/``killAllSessions`` (manual: "killSessions", "killAllSessions") kill the
sessions' operations and abort their open transactions; a later statement of such a
transaction fails with NoSuchTransaction. Drivers' test runners run ``killAllSessions: []``
before each test for this reason (unified test format). Users and patterns (``{users: [...]}``
entries) are not distinguished here: every session belongs to the one kind of user.
"""

from __future__ import annotations

from mongoeco.wire._session_identity import wire_session_key

from ..corrections.errors import server_error
from . import transactions


def _abort(executor, keys=None):
    """Abort the open transactions of the sessions ``keys`` (None: every session)."""
    records = transactions._records(executor)
    for key, record in list(records.items()):
        if (keys is None or key in keys) and record.state == "active":
            transactions._abort_session(executor, key, record)
    for key, wire_session in list(executor._session_store._sessions.items()):
        session = wire_session.session
        if (keys is None or key in keys) and session.active and session.transaction_active:
            session.abort_transaction()


def forget_unstarted(executor, body):
    """A ``startTransaction`` statement failed before the session was checked out (a fail
    point): the transaction never started on the server, but mongoeco started one when it
    bound the session; abort that one so the session is not left inside it."""
    if body.get("startTransaction") is not True or body.get("lsid") is None:
        return
    key = wire_session_key(body["lsid"])
    record = transactions._records(executor).get(key)
    number = getattr(body.get("txnNumber"), "value", body.get("txnNumber"))
    if record is not None and record.number == number and record.state == "active":
        return
    wire_session = executor._session_store._sessions.get(key)
    session = wire_session.session if wire_session is not None else None
    if session is not None and session.active and session.transaction_active:
        session.abort_transaction()


async def kill_all_sessions(executor, context):
    """``killAllSessions: [<user patterns>]``: every session (of every user) is killed."""
    patterns = context.command_document.get("killAllSessions")
    if not isinstance(patterns, list):
        raise server_error(14, "TypeMismatch", "killAllSessions must be an array")
    _abort(executor)
    return {"ok": 1.0}


async def kill_sessions(executor, context):
    """``killSessions: [<lsid>, ...]``: those sessions are killed (an empty list: all)."""
    lsids = context.command_document.get("killSessions")
    if not isinstance(lsids, list):
        raise server_error(14, "TypeMismatch", "killSessions must be an array")
    _abort(executor, None if not lsids else {wire_session_key(lsid) for lsid in lsids})
    return {"ok": 1.0}
