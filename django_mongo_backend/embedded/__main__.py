"""``python -m django_mongo_backend.embedded --dbpath DIR [--port N] [--host H] [--stop]``."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from . import launcher, process


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m django_mongo_backend.embedded",
        description="Serve a data directory over MongoDB's wire protocol (mongoeco, SQLite).",
    )
    parser.add_argument("--dbpath", required=True, type=Path, help="data directory (created)")
    parser.add_argument("--port", type=int, default=0, help="TCP port; 0 picks a free one")
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default 127.0.0.1, loopback only)"
    )
    parser.add_argument(
        "--stop", action="store_true", help="stop the server that owns --dbpath, then exit"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    dbpath = args.dbpath.resolve()
    if args.stop:
        stopped = launcher.stop_server(dbpath)
        print(f"stopped pid {stopped}" if stopped else f"no live server owns {dbpath}")
        return 0
    dbpath.mkdir(parents=True, exist_ok=True)
    try:
        lock = process.acquire_lock(dbpath)
    except process.DataDirInUse as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    try:
        asyncio.run(process.serve(dbpath, host=args.host, port=args.port))
    finally:
        lock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
