"""Running one server process over one data directory: lock, ``server.json``, signals.

A data directory holds:

- ``mongo.sqlite3``: the data (mongoeco's SQLite engine);
- ``server.lock``: locked (``flock``) by the live server for its whole life, holding its pid;
- ``server.json``: ``{"port": ..., "pid": ..., "host": ...}``, written once the server accepts
  connections and removed when it stops;
- ``server.log``: the output of servers that the launcher started in the background;
- ``users.json``: the users (SCRAM keys, no passwords) when authentication is on (``auth``).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import ipaddress
import json
import logging
import os
import signal
import socket
from pathlib import Path

logger = logging.getLogger("django_mongo_backend.embedded")

LOCK_FILE = "server.lock"
INFO_FILE = "server.json"
LOG_FILE = "server.log"


class RemoteBindRefused(RuntimeError):
    """A bind address other machines can reach, without ``allow_remote``."""

    def __init__(self, host):
        self.host = host
        super().__init__(
            f"--host {host!r} is not a loopback address: the embedded server would be "
            "reachable from other machines. Pass --allow-remote to bind it anyway (and --user "
            "with --password-file so that clients must authenticate)"
        )


def is_loopback(host):
    """True when every address ``host`` names is a loopback address (127.0.0.0/8, ::1)."""
    if not host:  # "" binds every interface
        return False
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    return bool(infos) and all(
        ipaddress.ip_address(info[4][0].split("%")[0]).is_loopback for info in infos
    )


class DataDirInUse(RuntimeError):
    """Another live server owns the data directory."""

    def __init__(self, dbpath, pid):
        self.pid = pid
        super().__init__(f"{dbpath} is already served by the embedded server with pid {pid}")


def read_server_info(dbpath):
    """The ``server.json`` of ``dbpath`` as a dict, or None when it is missing or unreadable."""
    try:
        return json.loads((Path(dbpath) / INFO_FILE).read_text())
    except (OSError, ValueError):
        return None


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def acquire_lock(dbpath):
    """Lock ``dbpath`` for this process; raise DataDirInUse naming the owner if it is taken."""
    handle = open(Path(dbpath) / LOCK_FILE, "a+")  # noqa: SIM115 - held for the server's life
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        owner = handle.read().strip() or "unknown"
        handle.close()
        raise DataDirInUse(dbpath, owner) from None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    return handle


def write_server_info(dbpath, host, port, users=()):
    """Publish the address atomically, so readers never see half a file.

    ``users`` (names, no secrets) tells launchers whether clients must authenticate.
    """
    info = {"host": host, "port": port, "pid": os.getpid()}
    if users:
        info["users"] = sorted(users)
    target = Path(dbpath) / INFO_FILE
    partial = target.with_suffix(".json.tmp")
    partial.write_text(json.dumps(info))
    partial.replace(target)
    return info


def remove_server_info(dbpath):
    info = read_server_info(dbpath)
    if info and info.get("pid") == os.getpid():
        with contextlib.suppress(FileNotFoundError):
            (Path(dbpath) / INFO_FILE).unlink()


async def serve(
    dbpath, *, host="127.0.0.1", port=0, ready=None, allow_remote=False, shuffle_unordered=False
):
    """Serve ``dbpath`` until SIGTERM or SIGINT; the lock must already be held.

    A non-loopback ``host`` raises RemoteBindRefused unless ``allow_remote``. The users of
    ``dbpath/users.json`` (see ``auth``), if any, must authenticate. ``shuffle_unordered`` (or
    ``DJANGO_MONGO_EMBEDDED_SHUFFLE=1`` in the environment) returns what MongoDB leaves
    unordered in a random order (see ``ordering``).
    """
    from . import auth, ordering
    from .wire import EmbeddedServer

    if shuffle_unordered:
        ordering.enable()

    users = auth.load_users(dbpath)
    if not is_loopback(host):
        if not allow_remote:
            raise RemoteBindRefused(host)
        logger.warning(
            "embedded server binding %s: it is reachable from other machines%s",
            host,
            "" if users else " and anyone can connect: it has no users (start it with --user)",
        )
    server = EmbeddedServer(Path(dbpath), host=host, port=port, users=users)
    address = await server.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    info = write_server_info(dbpath, address.host, address.port, [user.name for user in users])
    logger.info(
        "embedded server for %s listening on %s:%s%s",
        dbpath,
        address.host,
        address.port,
        f" (authentication required: {len(users)} user(s))" if users else "",
    )
    if ordering.is_enabled():
        logger.info("unsorted results and sort ties are returned in a random order")
    if ready is not None:
        ready(info)
    try:
        await stop.wait()
    finally:
        remove_server_info(dbpath)
        await server.close()
        logger.info("embedded server for %s stopped", dbpath)
