"""SCRAM authentication for the embedded server, answering as ``mongod`` does.

mongoeco 4.11.0's wire authentication differs from MongoDB in ways that matter to drivers:

- it keeps plaintext passwords and derives SCRAM-SHA-1 keys from the raw password, while
  MongoDB (and every driver) derives them from ``md5("<user>:mongo:<password>")``, so pymongo's
  SCRAM-SHA-1 (its default when ``hello`` names no mechanisms) never succeeds;
- ``hello`` ignores ``saslSupportedMechs`` and ``speculativeAuthenticate``;
- ``saslContinue`` does not check that the client echoes the server's nonce;
- the ``authenticate`` command accepts a plaintext ``pwd`` for any mechanism;
- failures carry no error code (MongoDB: 18 ``AuthenticationFailed``, message
  ``Authentication failed.``), commands refused before authentication carry none either
  (MongoDB: 13 ``Unauthorized``), and ``ping``/``buildInfo`` are refused although MongoDB
  answers them unauthenticated.

``ScramAuthService`` replaces mongoeco's service. Users live in ``DIR/users.json`` (mode 0600)
as MongoDB stores them in ``admin.system.users``: per mechanism a salt, an iteration count and
the StoredKey/ServerKey of RFC 5802, never the password. A directory that has users always
requires authentication, whoever restarts its server.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from bson.binary import Binary
from mongoeco.wire.auth import WireAuthenticationService
from pymongo.saslprep import saslprep

from ..corrections.errors import server_error

USERS_FILE = "users.json"

#: The database the users are defined on (pymongo's default ``authSource`` for a URI without
#: a database), like MongoDB's administrative users.
AUTH_SOURCE = "admin"

#: Mechanism -> (hash name, salt length, iteration count): MongoDB's defaults
#: (``scramSHA256IterationCount`` 15000, ``scramIterationCount`` 10000).
MECHANISMS = {
    "SCRAM-SHA-256": ("sha256", 28, 15000),
    "SCRAM-SHA-1": ("sha1", 16, 10000),
}

#: Commands MongoDB runs before authentication; everything else gets 13 Unauthorized.
UNAUTHENTICATED_COMMANDS = frozenset(
    {
        "hello",
        "isMaster",
        "ismaster",
        "ping",
        "buildInfo",
        "buildinfo",
        "saslStart",
        "saslContinue",
        "authenticate",
        "logout",
        "connectionStatus",
        "endSessions",
    }
)

HELLO_COMMANDS = frozenset({"hello", "isMaster", "ismaster"})


def authentication_failed():
    return server_error(18, "AuthenticationFailed", "Authentication failed.")


def unauthorized(command_name):
    return server_error(13, "Unauthorized", f"Command {command_name} requires authentication")


def _b64(data):
    return base64.b64encode(data).decode("ascii")


def _hmac(key, message, digest):
    return hmac.digest(key, message, digest)


@dataclass(frozen=True, slots=True)
class ScramCredential:
    salt: bytes
    iterations: int
    stored_key: bytes
    server_key: bytes

    @classmethod
    def derive(cls, mechanism, username, password, *, salt=None, iterations=None):
        digest, salt_length, default_iterations = MECHANISMS[mechanism]
        if mechanism == "SCRAM-SHA-1":
            # MongoDB's SCRAM-SHA-1 hashes the legacy digest of the password, not the password.
            secret = hashlib.md5(f"{username}:mongo:{password}".encode()).hexdigest()
        else:
            secret = saslprep(password)
        salt = salt if salt is not None else secrets.token_bytes(salt_length)
        iterations = iterations or default_iterations
        salted = hashlib.pbkdf2_hmac(digest, secret.encode("utf-8"), salt, iterations)
        client_key = _hmac(salted, b"Client Key", digest)
        return cls(
            salt=salt,
            iterations=iterations,
            stored_key=hashlib.new(digest, client_key).digest(),
            server_key=_hmac(salted, b"Server Key", digest),
        )

    def to_json(self):
        return {
            "iterationCount": self.iterations,
            "salt": _b64(self.salt),
            "storedKey": _b64(self.stored_key),
            "serverKey": _b64(self.server_key),
        }

    @classmethod
    def from_json(cls, data):
        return cls(
            salt=base64.b64decode(data["salt"]),
            iterations=int(data["iterationCount"]),
            stored_key=base64.b64decode(data["storedKey"]),
            server_key=base64.b64decode(data["serverKey"]),
        )


@dataclass(frozen=True, slots=True)
class User:
    name: str
    db: str
    credentials: dict  # mechanism -> ScramCredential

    @classmethod
    def create(cls, name, password, db=AUTH_SOURCE):
        if not name:
            raise ValueError("the user name is empty")
        if not password:
            raise ValueError(f"the password of user {name!r} is empty")
        return cls(
            name,
            db,
            {mech: ScramCredential.derive(mech, name, password) for mech in MECHANISMS},
        )


# -- the users file -----------------------------------------------------------------------


def load_users(dbpath):
    """The users stored in ``dbpath``; an empty tuple when there are none."""
    path = Path(dbpath) / USERS_FILE
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return ()
    return tuple(
        User(
            entry["user"],
            entry.get("db", AUTH_SOURCE),
            {
                mech: ScramCredential.from_json(value)
                for mech, value in entry["credentials"].items()
                if mech in MECHANISMS
            },
        )
        for entry in data.get("users", [])
    )


def save_user(dbpath, user):
    """Add ``user`` to ``dbpath``'s users, replacing one of the same name and database."""
    users = [u for u in load_users(dbpath) if (u.name, u.db) != (user.name, user.db)]
    users.append(user)
    document = {
        "users": [
            {
                "user": u.name,
                "db": u.db,
                "credentials": {mech: cred.to_json() for mech, cred in u.credentials.items()},
            }
            for u in users
        ]
    }
    target = Path(dbpath) / USERS_FILE
    partial = target.with_suffix(".json.tmp")
    with contextlib.suppress(FileNotFoundError):
        partial.unlink()
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump(document, handle, indent=1)
    partial.replace(target)
    return tuple(users)


# -- the SASL conversation ----------------------------------------------------------------


@dataclass(slots=True)
class _Conversation:
    user: User
    mechanism: str
    gs2_header: str
    client_first_bare: str
    server_first: str
    nonce: str
    skip_empty_exchange: bool
    finished: bool = False


def _attributes(message):
    result = {}
    for part in message.split(","):
        key, separator, value = part.partition("=")
        if not separator or len(key) != 1:
            raise authentication_failed()
        result[key] = value
    return result


def _payload_text(body):
    payload = body.get("payload")
    if isinstance(payload, (bytes, bytearray)):
        try:
            return bytes(payload).decode("utf-8")
        except UnicodeDecodeError:
            raise authentication_failed() from None
    if isinstance(payload, str):  # mongosh and some drivers may send a string payload
        return payload
    raise authentication_failed()


class ScramAuthService(WireAuthenticationService):
    """SCRAM-SHA-256 and SCRAM-SHA-1 over stored keys, with MongoDB's error codes."""

    def __init__(self, users=()):
        super().__init__(())
        self.users = tuple(users)

    @property
    def enabled(self):
        return bool(self.users)

    @staticmethod
    def server_nonce():
        """The server's part of the nonce (printable, without commas: base64)."""
        return _b64(secrets.token_bytes(24))

    def find_user(self, name, db):
        for user in self.users:
            if user.name == name and user.db == db:
                return user
        return None

    def require_authenticated(self, connection, command_name):
        if not self.users or connection.authenticated_users:
            return
        if command_name in UNAUTHENTICATED_COMMANDS:
            return
        raise unauthorized(command_name)

    def authenticate(self, body, *, connection):
        # MongoDB's ``authenticate`` command takes only MONGODB-X509 (no certificates here);
        # a plaintext ``pwd`` is never accepted.
        raise authentication_failed()

    def sasl_start(self, body, *, connection):
        mechanism = body.get("mechanism")
        database = body.get("db") or body.get("$db") or AUTH_SOURCE
        if mechanism not in MECHANISMS:
            raise authentication_failed()
        message = _payload_text(body)
        gs2_header, _, client_first_bare = message.partition(",,")
        parts = gs2_header.split(",")
        # "n": the client does not do channel binding; "y": it would, but thinks we do not.
        # An authorization identity ("n,a=...") is not supported, as in MongoDB.
        if len(parts) != 1 or parts[0] not in ("n", "y") or not client_first_bare:
            raise authentication_failed()
        attributes = _attributes(client_first_bare)
        username = attributes.get("n", "").replace("=2C", ",").replace("=3D", "=")
        client_nonce = attributes.get("r")
        if not username or not client_nonce or "m" in attributes:
            raise authentication_failed()
        user = self.find_user(username, database)
        if user is None or mechanism not in user.credentials:
            raise authentication_failed()
        credential = user.credentials[mechanism]
        nonce = client_nonce + self.server_nonce()
        server_first = f"r={nonce},s={_b64(credential.salt)},i={credential.iterations}"
        options = body.get("options") or {}
        conversation_id = max(connection.auth_conversations, default=0) + 1
        connection.auth_conversations[conversation_id] = _Conversation(
            user=user,
            mechanism=mechanism,
            gs2_header=gs2_header + ",,",
            client_first_bare=client_first_bare,
            server_first=server_first,
            nonce=nonce,
            skip_empty_exchange=bool(options.get("skipEmptyExchange")),
        )
        return {
            "conversationId": conversation_id,
            "done": False,
            "payload": Binary(server_first.encode("utf-8")),
            "ok": 1.0,
        }

    def sasl_continue(self, body, *, connection):
        conversation_id = body.get("conversationId")
        conversation = connection.auth_conversations.get(conversation_id)
        if not isinstance(conversation, _Conversation):
            raise authentication_failed()
        if conversation.finished:  # the empty exchange of clients without skipEmptyExchange
            connection.auth_conversations.pop(conversation_id, None)
            self._authenticated(connection, conversation)
            return {"conversationId": conversation_id, "done": True, "payload": b"", "ok": 1.0}
        try:
            signature = self._verify_client_final(conversation, _payload_text(body))
        except Exception:
            connection.auth_conversations.pop(conversation_id, None)
            raise
        payload = Binary(f"v={signature}".encode())
        if conversation.skip_empty_exchange:
            connection.auth_conversations.pop(conversation_id, None)
            self._authenticated(connection, conversation)
            return {"conversationId": conversation_id, "done": True, "payload": payload, "ok": 1.0}
        conversation.finished = True
        return {"conversationId": conversation_id, "done": False, "payload": payload, "ok": 1.0}

    def _verify_client_final(self, conversation, message):
        digest = MECHANISMS[conversation.mechanism][0]
        without_proof, _, proof_part = message.rpartition(",p=")
        if not without_proof:
            raise authentication_failed()
        attributes = _attributes(without_proof)
        channel_binding = base64.b64encode(conversation.gs2_header.encode()).decode("ascii")
        if attributes.get("c") != channel_binding or attributes.get("r") != conversation.nonce:
            raise authentication_failed()
        try:
            proof = base64.b64decode(proof_part, validate=True)
        except ValueError:
            raise authentication_failed() from None
        credential = conversation.user.credentials[conversation.mechanism]
        auth_message = ",".join(
            (conversation.client_first_bare, conversation.server_first, without_proof)
        ).encode("utf-8")
        client_signature = _hmac(credential.stored_key, auth_message, digest)
        if len(proof) != len(client_signature):
            raise authentication_failed()
        client_key = bytes(a ^ b for a, b in zip(proof, client_signature, strict=True))
        if not hmac.compare_digest(hashlib.new(digest, client_key).digest(), credential.stored_key):
            raise authentication_failed()
        return _b64(_hmac(credential.server_key, auth_message, digest))

    @staticmethod
    def _authenticated(connection, conversation):
        connection.authenticate(
            username=conversation.user.name,
            db=conversation.user.db,
            mechanism=conversation.mechanism,
            roles=({"role": "root", "db": "admin"},),
        )

    def complete_hello(self, body, response, *, connection):
        """Add what ``hello`` answers about authentication: mechanisms and a speculative start.

        MongoDB's ``hello`` takes ``saslSupportedMechs: "<db>.<user>"`` and answers the user's
        mechanisms, and runs a ``speculativeAuthenticate`` ``saslStart`` in the same round trip
        (omitting the answer when it fails, so the client authenticates the usual way).
        """
        if not self.users or not isinstance(response, dict):
            return response
        name = body.get("saslSupportedMechs")
        if isinstance(name, str) and "." in name:
            db, _, username = name.partition(".")
            user = self.find_user(username, db)
            if user is not None:
                response["saslSupportedMechs"] = sorted(user.credentials)
        speculative = body.get("speculativeAuthenticate")
        if isinstance(speculative, dict) and "saslStart" in speculative:
            try:
                result = self.sasl_start(speculative, connection=connection)
            except Exception:  # MongoDB omits the field on failure
                result = None
            if result is not None:
                response["speculativeAuthenticate"] = result
        return response
