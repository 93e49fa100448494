"""Malformed or oversized wire messages: an error reply or a closed connection, a log line,
and the server keeps serving everyone else."""

from __future__ import annotations

import socket
import struct

import bson
import pymongo
import pytest

from django_mongo_backend.embedded import launcher

OP_MSG = 2013


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    dbpath = tmp_path_factory.mktemp("wire")
    info = launcher.ensure_server(dbpath)
    yield dbpath, info
    launcher.stop_server(dbpath)


def _send(info, payload, *, read=True):
    """Send raw bytes; return the reply message (b"" when the server closed the connection)."""
    with socket.create_connection((info["host"], info["port"]), timeout=10) as sock:
        sock.sendall(payload)
        if not read:
            return b""
        chunks = []
        try:
            header = sock.recv(16)
            if len(header) < 16:
                return header
            length = struct.unpack("<i", header[:4])[0]
            chunks.append(header)
            received = 16
            while received < length:
                chunk = sock.recv(length - received)
                if not chunk:
                    break
                chunks.append(chunk)
                received += len(chunk)
        except ConnectionResetError:
            return b""
        return b"".join(chunks)


def _op_msg(body_bytes, request_id=1):
    payload = struct.pack("<I", 0) + b"\x00" + body_bytes
    return struct.pack("<iiii", 16 + len(payload), request_id, 0, OP_MSG) + payload


def _reply_body(message):
    assert struct.unpack("<iiii", message[:16])[3] == OP_MSG
    return bson.decode(message[21:])


def _assert_serving(info):
    with pymongo.MongoClient(launcher.uri_for(info), serverSelectionTimeoutMS=5000) as client:
        assert client.admin.command("ping")["ok"] == 1.0


def test_a_well_formed_raw_message_is_answered(served):
    _, info = served
    reply = _send(info, _op_msg(bson.encode({"ping": 1, "$db": "admin"})))
    assert _reply_body(reply)["ok"] == 1.0


def test_malformed_bson_gets_an_error_reply_or_a_closed_connection(served):
    _, info = served
    body = bytearray(bson.encode({"ping": 1, "$db": "admin"}))
    body[4] = 0x7F  # an unknown BSON type
    reply = _send(info, _op_msg(bytes(body)))
    assert reply == b"" or _reply_body(reply)["ok"] == 0.0
    _assert_serving(info)


def test_an_oversized_message_closes_the_connection_and_is_logged(served):
    dbpath, info = served
    header = struct.pack("<iiii", 200_000_000, 1, 0, OP_MSG)
    assert _send(info, header) == b""
    _assert_serving(info)
    assert "closed the connection" in (dbpath / "server.log").read_text()


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(struct.pack("<iiii", 8, 1, 0, OP_MSG), id="length-below-header"),
        pytest.param(struct.pack("<iiii", 32, 1, 0, 9999) + b"\x00" * 16, id="unknown-opcode"),
        pytest.param(_op_msg(b"\x05\x00\x00"), id="truncated-document"),
        pytest.param(struct.pack("<iiii", 26, 1, 0, OP_MSG) + b"\xff" * 10, id="bad-flags"),
        pytest.param(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", id="http"),
    ],
)
def test_garbage_never_takes_the_server_down(served, payload):
    _, info = served
    reply = _send(info, payload)
    assert reply == b"" or _reply_body(reply)["ok"] == 0.0
    _assert_serving(info)


def test_a_peer_vanishing_mid_message_leaves_the_server_serving(served):
    _, info = served
    message = _op_msg(bson.encode({"insert": "x", "documents": [{"a": 1}], "$db": "t"}))
    _send(info, message[: len(message) // 2], read=False)
    _assert_serving(info)
