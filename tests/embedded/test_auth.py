"""Security of the embedded server: loopback-only binds, and SCRAM authentication like mongod's.

MongoDB's documented behaviour these tests hold the server to:

- SCRAM-SHA-256 (RFC 7677) and SCRAM-SHA-1 (RFC 5802, where MongoDB's drivers use
  ``md5("<user>:mongo:<password>")`` as the password), with ``saslStart``/``saslContinue``;
  the conversation test vectors are those of RFC 7677 and of MongoDB's driver authentication
  specification;
- a failed authentication is error 18 ``AuthenticationFailed``, ``Authentication failed.``,
  whatever the reason (unknown user, wrong password, unsupported mechanism);
- with access control on, a command other than the handshake and authentication commands
  (``hello``, ``ping``, ``buildInfo``, ``saslStart``...) fails with 13 ``Unauthorized`` until the
  connection authenticates;
- ``hello`` with ``saslSupportedMechs: "<db>.<user>"`` lists the user's mechanisms, and
  ``speculativeAuthenticate`` runs the first ``saslStart`` inside the handshake;
- without ``options.skipEmptyExchange`` the server answers the client's proof with
  ``done: false`` and finishes on an empty ``saslContinue``.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import subprocess
import sys
import time

import pymongo
import pytest
from bson.binary import Binary
from mongoeco.wire.connections import WireConnectionContext
from pymongo.errors import OperationFailure

from django_mongo_backend.embedded import launcher
from django_mongo_backend.embedded.server import auth, process

MAIN = (sys.executable, "-m", "django_mongo_backend.embedded")
PASSWORD = "correct horse ☃"  # non-ASCII: SASLprep and UTF-8 on both sides


def _main(*args, stdin=None, timeout=30):
    return subprocess.run(
        [*MAIN, *map(str, args)],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _wait_for_server(dbpath, child, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = process.read_server_info(dbpath)
        if info and info.get("pid") == child.pid and launcher.ping(info):
            return info
        assert child.poll() is None, child.stderr.read()
        time.sleep(0.05)
    raise AssertionError("the server did not start")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A server started from the command line with ``--user`` and ``--password-file``."""
    dbpath = tmp_path_factory.mktemp("auth")
    password_file = dbpath.parent / f"{dbpath.name}.password"
    password_file.write_text(PASSWORD + "\n")  # the final newline is not part of it
    child = subprocess.Popen(
        [*MAIN, "--dbpath", str(dbpath), "--user", "alice", "--password-file", str(password_file)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield dbpath, _wait_for_server(dbpath, child)
    finally:
        launcher.stop_server(dbpath)
        child.wait(timeout=30)


@pytest.fixture
def uri(server):
    return launcher.uri_for(server[1])


def _client(uri, **kwargs):
    return pymongo.MongoClient(uri, serverSelectionTimeoutMS=5000, **kwargs)


# -- binding --------------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_loopback_hosts(host):
    assert process.is_loopback(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "", "::", "192.0.2.1", "[2001:db8::1]"])
def test_hosts_other_machines_reach_are_not_loopback(host):
    assert not process.is_loopback(host)


def test_non_loopback_bind_is_refused_naming_the_option(tmp_path):
    result = _main("--dbpath", tmp_path, "--host", "0.0.0.0")
    assert result.returncode == 2
    assert "--allow-remote" in result.stderr
    assert "0.0.0.0" in result.stderr
    assert not (tmp_path / process.INFO_FILE).exists()
    assert not (tmp_path / process.LOCK_FILE).exists()  # refused before touching DIR


def test_serve_refuses_non_loopback_bind_without_allow_remote(tmp_path):
    with pytest.raises(process.RemoteBindRefused, match="--allow-remote"):
        asyncio.run(process.serve(tmp_path, host="0.0.0.0"))


def test_allow_remote_binds_every_interface_with_a_user(tmp_path):
    password_file = tmp_path / "pw"
    password_file.write_text("s3cret")
    dbpath = tmp_path / "data"
    options = ["--host", "0.0.0.0", "--allow-remote", "--user", "u", "--password-file"]
    child = subprocess.Popen(
        [*MAIN, "--dbpath", str(dbpath), *options, str(password_file)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        info = _wait_for_server(dbpath, child)
        assert info["host"] == "0.0.0.0"
        client = _client(f"mongodb://127.0.0.1:{info['port']}/?directConnection=true")
        with pytest.raises(OperationFailure) as caught:
            client.db.c.find_one()
        assert caught.value.code == 13
        client.close()
    finally:
        launcher.stop_server(dbpath)
        child.wait(timeout=30)


def test_user_needs_a_password_file(tmp_path):
    result = _main("--dbpath", tmp_path, "--user", "alice")
    assert result.returncode == 2
    assert "--password-file" in result.stderr


# -- authenticating -------------------------------------------------------------------------


@pytest.mark.parametrize("mechanism", [None, "SCRAM-SHA-256", "SCRAM-SHA-1"])
def test_correct_credentials_run_data_commands(uri, mechanism):
    options = {"authMechanism": mechanism} if mechanism else {}
    client = _client(uri, username="alice", password=PASSWORD, authSource="admin", **options)
    try:
        client.authdb.things.insert_one({"_id": 1, "mechanism": mechanism})
        assert client.authdb.things.find_one({"_id": 1})["mechanism"] == mechanism
        client.authdb.things.delete_many({})
        status = client.admin.command("connectionStatus")["authInfo"]["authenticatedUsers"]
        assert status[0]["user"] == "alice" and status[0]["db"] == "admin"
    finally:
        client.close()


@pytest.mark.parametrize(
    "credentials",
    [
        {"username": "alice", "password": "wrong"},
        {"username": "alice", "password": PASSWORD[:-1]},
        {"username": "mallory", "password": PASSWORD},
        {"username": "alice", "password": PASSWORD, "authSource": "authdb"},
        {"username": "alice", "password": "wrong", "authMechanism": "SCRAM-SHA-1"},
    ],
)
def test_wrong_credentials_are_authentication_failed_18(uri, credentials):
    client = _client(uri, **credentials)
    try:
        with pytest.raises(OperationFailure) as caught:
            client.authdb.things.find_one()
        assert caught.value.code == 18
        assert caught.value.details["codeName"] == "AuthenticationFailed"
        assert caught.value.details["errmsg"] == "Authentication failed."
    finally:
        client.close()


@pytest.mark.parametrize(
    "command",
    [
        {"find": "things"},
        {"insert": "things", "documents": [{"x": 1}]},
        {"listCollections": 1},
        {"listDatabases": 1},
        {"dropDatabase": 1},
        {"commitTransaction": 1},
        {"collMod": "things"},  # one of the server layer's own commands
    ],
)
def test_unauthenticated_data_commands_are_unauthorized_13(uri, command):
    client = _client(uri)
    try:
        with pytest.raises(OperationFailure) as caught:
            client.get_database("admin" if "listDatabases" in command else "authdb").command(
                command
            )
        assert caught.value.code == 13
        assert caught.value.details["codeName"] == "Unauthorized"
        assert f"Command {next(iter(command))} requires authentication" in str(caught.value)
    finally:
        client.close()


@pytest.mark.parametrize("command", ["hello", "isMaster", "ping", "buildInfo", "connectionStatus"])
def test_handshake_and_status_commands_need_no_authentication(uri, command):
    client = _client(uri)
    try:
        assert client.admin.command(command)["ok"] == 1.0
    finally:
        client.close()


def test_plaintext_authenticate_command_is_refused(uri):
    client = _client(uri)
    try:
        with pytest.raises(OperationFailure) as caught:
            client.admin.command(
                {"authenticate": 1, "mechanism": "PLAIN", "user": "alice", "pwd": PASSWORD}
            )
        assert caught.value.code == 18
        with pytest.raises(OperationFailure) as caught:
            client.authdb.things.find_one()
        assert caught.value.code == 13
    finally:
        client.close()


def test_hello_lists_the_users_mechanisms(uri):
    client = _client(uri)
    try:
        hello = client.admin.command({"hello": 1, "saslSupportedMechs": "admin.alice"})
        assert hello["saslSupportedMechs"] == ["SCRAM-SHA-1", "SCRAM-SHA-256"]
        hello = client.admin.command({"hello": 1, "saslSupportedMechs": "admin.nobody"})
        assert "saslSupportedMechs" not in hello
    finally:
        client.close()


def _client_final(password, mechanism, user, first_bare, server_first):
    """The client's last SCRAM message and the verifier it expects, as a driver computes them."""
    fields = dict(part.split("=", 1) for part in server_first.split(","))
    digest = auth.MECHANISMS[mechanism][0]
    if mechanism == "SCRAM-SHA-1":
        password = hashlib.md5(f"{user}:mongo:{password}".encode()).hexdigest()
    salted = hashlib.pbkdf2_hmac(
        digest, password.encode(), base64.b64decode(fields["s"]), int(fields["i"])
    )
    client_key = hmac.digest(salted, b"Client Key", digest)
    stored_key = hashlib.new(digest, client_key).digest()
    without_proof = f"c=biws,r={fields['r']}"
    message = f"{first_bare},{server_first},{without_proof}".encode()
    signature = hmac.digest(stored_key, message, digest)
    proof = bytes(a ^ b for a, b in zip(client_key, signature, strict=True))
    verifier = hmac.digest(hmac.digest(salted, b"Server Key", digest), message, digest)
    final = f"{without_proof},p={base64.b64encode(proof).decode()}"
    return final, base64.b64encode(verifier).decode()


def _sasl_start(client, mechanism, first_bare):
    """Send the client-first message; return the reply and the server-first message."""
    start = client.admin.command(
        {
            "saslStart": 1,
            "mechanism": mechanism,
            "payload": Binary(b"n,," + first_bare.encode()),
        }
    )
    return start, bytes(start["payload"]).decode()


def test_conversation_without_skip_empty_exchange_ends_on_an_empty_step(uri):
    client = _client(uri, maxPoolSize=1)  # one connection: the conversation is per connection
    try:
        first_bare = "n=alice,r=clientnonce123"
        start, server_first = _sasl_start(client, "SCRAM-SHA-256", first_bare)
        assert server_first.startswith("r=clientnonce123")
        final, expected = _client_final(
            PASSWORD, "SCRAM-SHA-256", "alice", first_bare, server_first
        )
        step = client.admin.command(
            {
                "saslContinue": 1,
                "conversationId": start["conversationId"],
                "payload": Binary(final.encode()),
            }
        )
        assert step["done"] is False
        assert bytes(step["payload"]).decode() == f"v={expected}"
        with pytest.raises(OperationFailure) as caught:  # not authenticated before the end
            client.authdb.things.find_one()
        assert caught.value.code == 13
        step = client.admin.command(
            {"saslContinue": 1, "conversationId": start["conversationId"], "payload": Binary(b"")}
        )
        assert step["done"] is True
        assert client.authdb.things.find_one() is None  # authenticated now
    finally:
        client.close()


def test_proof_for_another_nonce_is_refused(uri):
    client = _client(uri, maxPoolSize=1)
    try:
        first_bare = "n=alice,r=clientnonce456"
        start, server_first = _sasl_start(client, "SCRAM-SHA-1", first_bare)
        forged = server_first.replace("r=clientnonce456", "r=clientnonce456X", 1)
        final, _ = _client_final(PASSWORD, "SCRAM-SHA-1", "alice", first_bare, forged)
        with pytest.raises(OperationFailure) as caught:
            client.admin.command(
                {
                    "saslContinue": 1,
                    "conversationId": start["conversationId"],
                    "payload": Binary(final.encode()),
                }
            )
        assert caught.value.code == 18
        with pytest.raises(OperationFailure) as caught:
            client.authdb.things.find_one()
        assert caught.value.code == 13
    finally:
        client.close()


# -- the SCRAM computations against published test vectors ---------------------------------


@pytest.mark.parametrize(
    ("mechanism", "client_nonce", "server_nonce", "salt", "iterations", "proof", "verifier"),
    [
        (  # RFC 7677, section 3
            "SCRAM-SHA-256",
            "rOprNGfwEbeRWgbNEkqO",
            "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
            "W22ZaJ0SNY7soEsUEjb6gQ==",
            4096,
            "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
            "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
        ),
        (  # MongoDB's driver authentication specification (SCRAM-SHA-1 over the md5 digest)
            "SCRAM-SHA-1",
            "fyko+d2lbbFgONRv9qkxdawL",
            "Ho+Vgk7qvUOKUwuWLIWg4l/9SraGMHEE",
            "rQ9ZY3MntBeuP3E1TDVC4w==",
            10000,
            "MC2T8BvbmWRckDw8oWl5IVghwCY=",
            "UMWeI25JD1yNYZRMpZ4VHvhZ9e0=",
        ),
    ],
)
def test_published_scram_vectors(
    monkeypatch, mechanism, client_nonce, server_nonce, salt, iterations, proof, verifier
):
    credential = auth.ScramCredential.derive(
        mechanism, "user", "pencil", salt=base64.b64decode(salt), iterations=iterations
    )
    user = auth.User("user", "admin", {mechanism: credential})
    service = auth.ScramAuthService([user])
    monkeypatch.setattr(service, "server_nonce", lambda: server_nonce)
    connection = WireConnectionContext(connection_id=1)
    hello = service.complete_hello(
        {
            "hello": 1,
            "speculativeAuthenticate": {
                "saslStart": 1,
                "mechanism": mechanism,
                "payload": Binary(f"n,,n=user,r={client_nonce}".encode()),
                "db": "admin",
                "options": {"skipEmptyExchange": True},
            },
        },
        {"ok": 1.0},
        connection=connection,
    )
    start = hello["speculativeAuthenticate"]
    nonce = client_nonce + server_nonce
    assert bytes(start["payload"]).decode() == f"r={nonce},s={salt},i={iterations}"
    reply = service.sasl_continue(
        {
            "conversationId": start["conversationId"],
            "payload": Binary(f"c=biws,r={nonce},p={proof}".encode()),
        },
        connection=connection,
    )
    assert reply["done"] is True
    assert bytes(reply["payload"]).decode() == f"v={verifier}"
    assert connection.authenticated_users[0]["user"] == "user"
    service.require_authenticated(connection, "find")  # no error once authenticated


# -- persistence and the launcher ------------------------------------------------------------


def test_users_file_keeps_keys_not_passwords(server):
    dbpath, _ = server
    path = dbpath / auth.USERS_FILE
    assert path.stat().st_mode & 0o777 == 0o600
    text = path.read_text()
    assert PASSWORD not in text and "pencil" not in text
    (entry,) = json.loads(text)["users"]
    assert entry["user"] == "alice" and entry["db"] == "admin"
    assert set(entry["credentials"]) == {"SCRAM-SHA-1", "SCRAM-SHA-256"}
    assert entry["credentials"]["SCRAM-SHA-256"]["iterationCount"] == 15000


def test_launcher_passes_the_password_off_the_command_line(tmp_path):
    try:
        info = launcher.ensure_server(tmp_path, username="bob", password="hunter2 pw")
        assert info["users"] == ["bob"]
        with open(f"/proc/{info['pid']}/cmdline", "rb") as handle:
            command_line = handle.read()
        assert b"--user\0bob\0--password-file\0-" in command_line
        assert b"hunter2" not in command_line
        client = _client(launcher.uri_for(info), username="bob", password="hunter2 pw")
        assert client.authdb.things.count_documents({}) == 0
        client.close()
        assert launcher.embedded_uri(
            f"embedded://{tmp_path}", username="bob", password="hunter2 pw"
        ).startswith("mongodb://127.0.0.1:")

        with pytest.raises(launcher.EmbeddedServerError, match="set USER and PASSWORD"):
            launcher.embedded_uri(f"embedded://{tmp_path}")
        with pytest.raises(launcher.EmbeddedServerError, match="cannot authenticate 'carol'"):
            launcher.embedded_uri(f"embedded://{tmp_path}", username="carol", password="x")

        # Users persist with the data: a restart without --user still requires authentication.
        launcher.stop_server(tmp_path)
        info = launcher.ensure_server(tmp_path)
        assert info["users"] == ["bob"]
        client = _client(launcher.uri_for(info))
        with pytest.raises(OperationFailure) as caught:
            client.authdb.things.find_one()
        assert caught.value.code == 13
        client.close()
    finally:
        launcher.stop_server(tmp_path)


def test_launcher_refuses_a_user_an_open_server_cannot_authenticate(tmp_path):
    try:
        launcher.ensure_server(tmp_path)  # started without users
        with pytest.raises(launcher.EmbeddedServerError, match=r"has no users.*--stop"):
            launcher.embedded_uri(f"embedded://{tmp_path}", username="bob", password="pw")
    finally:
        launcher.stop_server(tmp_path)
