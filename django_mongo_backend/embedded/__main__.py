"""``python -m django_mongo_backend.embedded --dbpath DIR [--port N] [--host H] [--stop]``.

``--list-patches`` prints what the server changes in mongoeco (``registry``) and exits.

Authentication: ``--user NAME --password-file FILE`` (``-`` reads the password from standard
input) stores NAME's SCRAM keys in ``DIR/users.json``; from then on every client of DIR must
authenticate, also after a restart without ``--user``. Passwords never go on the command line.

``--shuffle-unordered`` (or ``DJANGO_MONGO_EMBEDDED_SHUFFLE=1`` in the environment, which servers
started by ``embedded://`` hosts inherit) returns the results of a read without a sort, and the
ties of a sort, in a random order, as MongoDB may: code relying on an order MongoDB does not
promise then fails here too (see ``ordering``).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from . import launcher
from .server import auth, process


def read_password(source):
    """The password in file ``source`` (``-``: standard input), without a final newline."""
    text = sys.stdin.read() if source == "-" else Path(source).read_text()
    if text.endswith("\n"):
        text = text[:-1]
        text = text.removesuffix("\r")
    return text


def list_patches(out=None):
    """Print the registry (``registry.table``), as the server process installs it."""
    from . import registry
    from .server import wire  # noqa: F401 - importing the wire server applies every patch

    out = out or sys.stdout
    rows = registry.table()
    headers = ("kind", "target", "rule", "test")
    widths = [max(len(row[i]) for row in [headers, *rows]) for i in range(2)]
    for kind, target, rule, test in [headers, *rows]:
        print(f"{kind:<{widths[0]}}  {target:<{widths[1]}}  {rule}  [{test}]", file=out)
    print(f"{len(rows)} patches on mongoeco {registry.check_mongoeco()}", file=out)
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m django_mongo_backend.embedded",
        description="Serve a data directory over MongoDB's wire protocol (mongoeco, SQLite).",
    )
    parser.add_argument("--dbpath", type=Path, help="data directory (created; required)")
    parser.add_argument("--port", type=int, default=0, help="TCP port; 0 picks a free one")
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default 127.0.0.1, loopback only)"
    )
    parser.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow a --host other machines can reach (refused without it)",
    )
    parser.add_argument(
        "--user",
        help=f"create or update this user (on the {auth.AUTH_SOURCE!r} database) in "
        "DIR/users.json; clients of DIR must then authenticate (SCRAM-SHA-256 or SCRAM-SHA-1)",
    )
    parser.add_argument(
        "--password-file",
        metavar="FILE",
        help="file holding the password of --user ('-': read it from standard input)",
    )
    parser.add_argument(
        "--shuffle-unordered",
        action="store_true",
        help="return unsorted results and sort ties in a random order, as MongoDB may "
        "(also on with DJANGO_MONGO_EMBEDDED_SHUFFLE=1)",
    )
    parser.add_argument(
        "--stop", action="store_true", help="stop the server that owns --dbpath, then exit"
    )
    parser.add_argument(
        "--list-patches",
        action="store_true",
        help="print every change the server makes to mongoeco (kind, target, rule, test), exit",
    )
    args = parser.parse_args(argv)
    if args.list_patches:
        return list_patches()
    if args.dbpath is None:
        parser.error("the following arguments are required: --dbpath")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    dbpath = args.dbpath.resolve()
    if args.stop:
        stopped = launcher.stop_server(dbpath)
        print(f"stopped pid {stopped}" if stopped else f"no live server owns {dbpath}")
        return 0
    if bool(args.user) != bool(args.password_file):
        parser.error("--user and --password-file go together")
    if not args.allow_remote and not process.is_loopback(args.host):
        print(f"error: {process.RemoteBindRefused(args.host)}", file=sys.stderr)
        return 2
    user = None
    if args.user:
        try:
            user = auth.User.create(args.user, read_password(args.password_file))
        except (OSError, ValueError) as error:
            print(f"error: --password-file: {error}", file=sys.stderr)
            return 2
    dbpath.mkdir(parents=True, exist_ok=True)
    try:
        lock = process.acquire_lock(dbpath)
    except process.DataDirInUse as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    try:
        if user is not None:
            auth.save_user(dbpath, user)
        asyncio.run(
            process.serve(
                dbpath,
                host=args.host,
                port=args.port,
                allow_remote=args.allow_remote,
                shuffle_unordered=args.shuffle_unordered,
            )
        )
    finally:
        lock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
