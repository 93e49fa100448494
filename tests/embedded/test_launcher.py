"""The launcher: free ports, one server per directory, stale files, sharing between processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pymongo
import pytest

from django_mongo_backend.embedded import launcher
from django_mongo_backend.embedded.server import process


def _client(info):
    return pymongo.MongoClient(launcher.uri_for(info), serverSelectionTimeoutMS=5000)


@pytest.fixture
def dbpath(tmp_path):
    yield tmp_path
    launcher.stop_server(tmp_path)


def test_port_zero_picks_a_free_port_and_publishes_it(dbpath):
    info = launcher.ensure_server(dbpath)
    assert info["port"] > 0
    assert json.loads((dbpath / "server.json").read_text()) == info
    assert _client(info).admin.command("ping")["ok"] == 1.0


def test_embedded_uri_is_a_plain_direct_connection_uri(dbpath):
    uri = launcher.embedded_uri(f"embedded://{dbpath}")
    assert uri.startswith("mongodb://127.0.0.1:")
    assert uri.endswith("/?directConnection=true")


def test_relative_dir_resolves_against_base_dir(tmp_path):
    assert launcher.resolve_dbpath("embedded://data", base_dir=tmp_path) == tmp_path / "data"


def test_second_server_on_same_dir_names_the_owner_and_fails(dbpath):
    info = launcher.ensure_server(dbpath)
    result = subprocess.run(
        [sys.executable, "-m", "django_mongo_backend.embedded", "--dbpath", str(dbpath)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert f"pid {info['pid']}" in result.stderr


def test_stale_server_json_of_dead_pid_is_replaced(dbpath):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (dbpath / process.INFO_FILE).write_text(json.dumps({"port": 1, "pid": dead.pid}))
    info = launcher.ensure_server(dbpath)
    assert info["pid"] != dead.pid
    assert _client(info).admin.command("ping")["ok"] == 1.0


def test_two_processes_share_one_server(dbpath):
    code = (
        "import sys; from django_mongo_backend.embedded import launcher;"
        "print(launcher.ensure_server(sys.argv[1])['pid'])"
    )
    children = [
        subprocess.Popen([sys.executable, "-c", code, str(dbpath)], stdout=subprocess.PIPE)
        for _ in range(2)
    ]
    pids = {child.communicate(timeout=120)[0].strip() for child in children}
    assert len(pids) == 1


def test_sigterm_stops_cleanly_and_removes_server_json(dbpath):
    info = launcher.ensure_server(dbpath)
    assert launcher.stop_server(dbpath) == info["pid"]
    assert not process.pid_alive(info["pid"]) or _is_zombie(info["pid"])
    assert not (dbpath / process.INFO_FILE).exists()


def _is_zombie(pid):
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] == "Z"
    except OSError:
        return False


def test_allowed_non_loopback_bind_logs_a_warning(tmp_path):
    # Without --allow-remote it is refused (tests/embedded/test_auth.py).
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "django_mongo_backend.embedded",
            "--dbpath",
            str(tmp_path),
            "--host",
            "0.0.0.0",
            "--allow-remote",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        line = child.stdout.readline()
        assert "WARNING" in line and "0.0.0.0" in line and "no users" in line
    finally:
        child.terminate()
        child.wait(timeout=30)
    assert os.path.exists(tmp_path / process.LOCK_FILE)
