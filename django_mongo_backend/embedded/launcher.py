"""``embedded://DIR`` -> the ``mongodb://`` URI of a live embedded server serving DIR.

Several processes (``migrate``, ``runserver``, test runs) share one server per directory: the
first one to need it starts it in the background, detached from its own lifetime; later ones
find it through ``DIR/server.json``. A ``server.json`` left by a dead process is ignored and the
server is started again.

Relative directories resolve against the directory of the Django settings module
(``DJANGO_SETTINGS_MODULE``) when one is imported, else against the current directory, so
``manage.py`` commands find the same data wherever they are run from.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from . import process

SCHEME = "embedded://"
LAUNCH_LOCK_FILE = "launch.lock"


class EmbeddedServerError(RuntimeError):
    """The embedded server could not be started or reached."""


def is_embedded(host):
    return isinstance(host, str) and host.startswith(SCHEME)


def settings_dir():
    """The directory of the imported Django settings module, or None."""
    module_name = os.environ.get("DJANGO_SETTINGS_MODULE")
    module = sys.modules.get(module_name) if module_name else None
    module_file = getattr(module, "__file__", None)
    return Path(module_file).resolve().parent if module_file else None


def resolve_dbpath(host, base_dir=None):
    """The absolute data directory named by an ``embedded://DIR`` host."""
    raw = host[len(SCHEME) :] if is_embedded(host) else host
    if not raw:
        raise EmbeddedServerError(f"{host!r} names no directory: write embedded://DIR")
    path = Path(raw).expanduser()
    if not path.is_absolute():
        path = Path(base_dir or settings_dir() or Path.cwd()) / path
    return path.resolve()


def uri_for(info):
    host = info.get("host") or "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"mongodb://{host}:{info['port']}/?directConnection=true"


def ping(info, timeout=2.0):
    """True when the server described by ``info`` answers ``ping``."""
    import pymongo

    timeout_ms = int(timeout * 1000)
    client = pymongo.MongoClient(
        uri_for(info),
        serverSelectionTimeoutMS=timeout_ms,
        connectTimeoutMS=timeout_ms,
        socketTimeoutMS=timeout_ms,
    )
    try:
        client.admin.command("ping")
    except Exception:
        return False
    finally:
        client.close()
    return True


def live_server(dbpath):
    """The ``server.json`` of the live server owning ``dbpath``, or None."""
    info = process.read_server_info(dbpath)
    if not info or not process.pid_alive(int(info.get("pid", 0))):
        return None
    return info if ping(info) else None


@contextlib.contextmanager
def _launch_lock(dbpath, timeout):
    """Serialise launches, so two processes never start two servers for one directory."""
    with open(Path(dbpath) / LAUNCH_LOCK_FILE, "a+") as handle:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise EmbeddedServerError(
                        f"timed out waiting for another process starting the server for {dbpath}"
                    ) from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_server(dbpath, timeout=60.0):
    """Return ``server.json`` of a live server for ``dbpath``, starting one if needed."""
    dbpath = Path(dbpath)
    dbpath.mkdir(parents=True, exist_ok=True)
    info = live_server(dbpath)
    if info:
        return info
    with _launch_lock(dbpath, timeout):
        info = live_server(dbpath)
        if info:
            return info
        return _start_background_server(dbpath, timeout)


def _start_background_server(dbpath, timeout):
    log_path = dbpath / process.LOG_FILE
    with open(log_path, "ab") as log:
        child = subprocess.Popen(
            [sys.executable, "-m", "django_mongo_backend.embedded", "--dbpath", str(dbpath)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = process.read_server_info(dbpath)
        if info and info.get("pid") == child.pid and ping(info):
            return info
        if child.poll() is not None:
            info = live_server(dbpath)
            if info:  # another launcher outside our lock won the race
                return info
            raise EmbeddedServerError(
                f"the embedded server for {dbpath} exited with status {child.returncode}; "
                f"see {log_path}"
            )
        time.sleep(0.05)
    raise EmbeddedServerError(
        f"the embedded server for {dbpath} did not answer within {timeout:.0f}s; see {log_path}"
    )


def embedded_uri(host, base_dir=None):
    """``embedded://DIR`` -> ``mongodb://127.0.0.1:PORT/?directConnection=true``."""
    return uri_for(ensure_server(resolve_dbpath(host, base_dir)))


def stop_server(dbpath, timeout=30.0):
    """Stop the live server owning ``dbpath`` (SIGTERM); return its pid, or None if none ran."""
    info = process.read_server_info(dbpath)
    if not info:
        return None
    pid = int(info.get("pid", 0))
    if not pid or not process.pid_alive(pid):
        return None
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while process.pid_alive(pid) and time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        time.sleep(0.05)
    return pid
