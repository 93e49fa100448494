"""Running one server process over one data directory: lock, ``server.json``, signals.

A data directory holds:

- ``mongo.sqlite3``: the data (mongoeco's SQLite engine);
- ``server.lock``: locked (``flock``) by the live server for its whole life, holding its pid;
- ``server.json``: ``{"port": ..., "pid": ..., "host": ...}``, written once the server accepts
  connections and removed when it stops;
- ``server.log``: the output of servers that the launcher started in the background.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import logging
import os
import signal
from pathlib import Path

logger = logging.getLogger("django_mongo_backend.embedded")

LOCK_FILE = "server.lock"
INFO_FILE = "server.json"
LOG_FILE = "server.log"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


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


def write_server_info(dbpath, host, port):
    """Publish the address atomically, so readers never see half a file."""
    info = {"host": host, "port": port, "pid": os.getpid()}
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


async def serve(dbpath, *, host="127.0.0.1", port=0, ready=None):
    """Serve ``dbpath`` until SIGTERM or SIGINT; the lock must already be held."""
    from .server import EmbeddedServer

    if host not in LOOPBACK_HOSTS:
        logger.warning(
            "embedded server binding %s: it is reachable from other machines and has no "
            "authentication unless users are configured",
            host,
        )
    server = EmbeddedServer(Path(dbpath), host=host, port=port)
    address = await server.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    info = write_server_info(dbpath, address.host, address.port)
    logger.info("embedded server for %s listening on %s:%s", dbpath, address.host, address.port)
    if ready is not None:
        ready(info)
    try:
        await stop.wait()
    finally:
        remove_server_info(dbpath)
        await server.close()
        logger.info("embedded server for %s stopped", dbpath)
