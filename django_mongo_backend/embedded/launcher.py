"""``embedded://DIR`` -> the ``mongodb://`` URI of a live embedded server serving DIR.

Several processes (``migrate``, ``runserver``, test runs) share one server per directory: the
first one to need it starts it in the background, detached from its own lifetime; later ones
find it through ``DIR/server.json``. A ``server.json`` left by a dead process is ignored and the
server is started again.

Relative directories resolve against the directory of the Django settings module
(``DJANGO_SETTINGS_MODULE``) when one is imported, else against the current directory, so
``manage.py`` commands find the same data wherever they are run from.

Credentials: when the connection settings name a user (``USER``/``PASSWORD`` or ``CLIENT``
``username``/``password``), a server this launcher starts gets that user (``--user``, the
password passed on its standard input, never on its command line), and from then on the
directory requires authentication. A live server that cannot authenticate that user, or that
requires authentication when the settings name no user, is reported here in one clear error.
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

from .server import process

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


def ensure_server(dbpath, timeout=60.0, *, username=None, password=None):
    """Return ``server.json`` of a live server for ``dbpath``, starting one if needed.

    A server started here gets the user ``username`` with ``password`` when they are given.
    """
    dbpath = Path(dbpath)
    dbpath.mkdir(parents=True, exist_ok=True)
    info = live_server(dbpath)
    if info:
        return info
    with _launch_lock(dbpath, timeout):
        info = live_server(dbpath)
        if info:
            return info
        return _start_background_server(dbpath, timeout, username, password)


def _start_background_server(dbpath, timeout, username=None, password=None):
    log_path = dbpath / process.LOG_FILE
    command = [sys.executable, "-m", "django_mongo_backend.embedded", "--dbpath", str(dbpath)]
    if username:
        command += ["--user", username, "--password-file", "-"]
    with open(log_path, "ab") as log:
        child = subprocess.Popen(
            command,
            stdin=subprocess.PIPE if username else subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
        )
    if username:
        with contextlib.suppress(BrokenPipeError):
            child.stdin.write((password or "").encode("utf-8"))
        child.stdin.close()
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


def embedded_uri(host, base_dir=None, *, username=None, password=None):
    """``embedded://DIR`` -> ``mongodb://127.0.0.1:PORT/?directConnection=true``.

    ``username``/``password``: the credentials the connection will use (see the module's
    docstring); a server that cannot accept them raises EmbeddedServerError.
    """
    dbpath = resolve_dbpath(host, base_dir)
    info = ensure_server(dbpath, username=username, password=password)
    check_credentials(dbpath, info, username)
    return uri_for(info)


def check_credentials(dbpath, info, username):
    """Raise EmbeddedServerError when the server in ``info`` cannot accept ``username``."""
    users = info.get("users") or []
    stop = f"python -m django_mongo_backend.embedded --dbpath {dbpath} --stop"
    if username and username not in users:
        having = f"only the users {', '.join(users)}" if users else "no users"
        raise EmbeddedServerError(
            f"the embedded server for {dbpath} (pid {info.get('pid')}) has {having}, so it "
            f"cannot authenticate {username!r}: stop it ({stop}) and the next connection "
            "starts it with that user"
        )
    if users and not username:
        raise EmbeddedServerError(
            f"the embedded server for {dbpath} requires authentication (users: "
            f"{', '.join(users)}): set USER and PASSWORD (or CLIENT username and password)"
        )


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
