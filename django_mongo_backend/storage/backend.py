"""``GridFSStorage``: Django's ``Storage`` API on a GridFS bucket of a ``DATABASES`` alias.

GridFS stores a file as one document in ``<bucket>.files`` (``filename``, ``length``,
``chunkSize``, ``uploadDate``, ``metadata``) and its bytes in ``<bucket>.chunks``, numbered by
``n``. It lets several documents share a ``filename`` (revisions); a Django storage treats a
name as one file, so:

- ``exists(name)`` is true once any revision of ``name`` exists (or any file below
  ``name/``, as a directory exists on a file system);
- ``save()`` never adds a revision to a taken name: ``get_available_name()`` picks a free one
  first, and if another process took it meanwhile (a race no unique index can settle, since
  GridFS must allow revisions), the upload is renamed to a new free name, as
  ``FileSystemStorage`` retries when ``O_EXCL`` fails;
- with ``allow_overwrite=True`` (as ``FileSystemStorage``'s option), ``save()`` keeps the name,
  and once the new revision is complete deletes the older ones;
- reads take the newest revision (``uploadDate``, then ``_id``) and ``delete()`` deletes them
  all.

pymongo refuses GridFS operations in a multi-document transaction (its ``GridFSBucket`` raises
``InvalidOperation`` when given a session in one), so every operation here runs outside any
``atomic()`` block, as file system writes do: see docs/storage.rst.
"""

from __future__ import annotations

import contextlib
import mimetypes
from datetime import UTC
from urllib.parse import urljoin

import gridfs
from django.conf import settings
from django.core.files.storage import Storage
from django.db import connections
from django.utils import timezone
from django.utils.deconstruct import deconstructible
from django.utils.encoding import filepath_to_uri
from pymongo import ASCENDING, DESCENDING
from pymongo import errors as mongo_errors

from . import names
from .files import READ_MODES, WRITE_MODES, GridFSFile, GridFSWriter

#: GridFS's own default chunk size (255 KiB: a chunk document stays below 256 KiB).
DEFAULT_CHUNK_SIZE = 255 * 1024
NEWEST_FIRST = [("uploadDate", DESCENDING), ("_id", DESCENDING)]


@deconstructible(path="django_mongo_backend.storage.GridFSStorage")
class GridFSStorage(Storage):
    """Files in the GridFS bucket ``bucket_name`` of the database ``using`` (a
    ``DATABASES`` alias).

    ``base_url`` prefixes ``url()`` (``MEDIA_URL`` when None, read when used);
    ``chunk_size`` is the size of new files' chunks in bytes; ``allow_overwrite`` makes
    ``save()`` replace a file of the same name instead of choosing another name.
    """

    def __init__(
        self,
        using="default",
        bucket_name="fs",
        base_url=None,
        chunk_size=DEFAULT_CHUNK_SIZE,
        allow_overwrite=False,
    ):
        if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size <= 0:
            raise ValueError(f"chunk_size must be a positive integer, not {chunk_size!r}.")
        self.using = using
        self.bucket_name = bucket_name
        self._base_url = base_url
        self.chunk_size = chunk_size
        self.allow_overwrite = allow_overwrite

    # -- the bucket ---------------------------------------------------------------------------

    def _database(self):
        """The alias's pymongo ``Database`` (its connection opened if need be)."""
        wrapper = connections[self.using]
        if wrapper.vendor != "mongodb":
            raise ValueError(
                f"GridFSStorage needs a MongoDB database; DATABASES[{self.using!r}] is "
                f"{wrapper.vendor}."
            )
        wrapper.ensure_connection()
        return wrapper.connection.database

    @contextlib.contextmanager
    def _gridfs(self):
        """The bucket and its collections; pymongo's errors become Django's database errors
        (naming the server), except GridFS's own (``NoFile``...), which callers handle."""
        try:
            yield _Bucket(self._database(), self.bucket_name, self.chunk_size)
        except mongo_errors.PyMongoError as error:
            if isinstance(error, gridfs.errors.GridFSError):
                raise
            raise connections[self.using]._translate(error) from error

    def file_document(self, name):
        """The files document of ``name``'s newest revision, or None."""
        key = names.file_key(name)
        with self._gridfs() as grid:
            return grid.files.find_one({"filename": key}, sort=NEWEST_FIRST)

    def _document_or_error(self, name):
        document = self.file_document(name)
        if document is None:
            raise self._missing(name)
        return document

    def _missing(self, name):
        return FileNotFoundError(f"No file named {name!r} in GridFS bucket {self.bucket_name!r}.")

    # -- reading ------------------------------------------------------------------------------

    def _open(self, name, mode="rb"):
        key = names.file_key(name)
        if mode in WRITE_MODES:
            return self._open_writer(key, mode)
        if mode not in READ_MODES:
            raise ValueError(
                f"GridFSStorage opens files with mode 'rb', 'r', 'wb' or 'w', not {mode!r}."
            )
        return self.open_revision(self._document_or_error(key), mode)

    def open_revision(self, document, mode="rb"):
        """The revision whose files document is ``document``, opened for reading: a reader
        holding one revision (a download in progress) keeps reading it even if the name
        gets a newer one meanwhile."""
        with self._gridfs() as grid:
            grid_out = gridfs.GridOut(grid.root, file_document=document)
        return GridFSFile(grid_out, document["filename"], self, mode)

    def exists(self, name):
        key = names.file_key(name)
        if not key:
            return True  # the root, as FileSystemStorage's location exists
        condition = {
            "$or": [
                {"filename": key},
                {"filename": names.under(names.directory_prefix(key))},
            ]
        }
        with self._gridfs() as grid:
            return grid.files.find_one(condition, projection={"_id": 1}) is not None

    def size(self, name):
        return self._document_or_error(name)["length"]

    def listdir(self, path):
        """``(directories, files)`` directly in ``path``, each sorted; a directory is the part
        of some file's name before a "/", so a path no name starts with lists as empty."""
        prefix = names.directory_prefix(names.file_key(path))
        directories, files = [], []
        with self._gridfs() as grid:
            for entry in grid.files.aggregate(names.entries_pipeline(prefix)):
                name, is_directory = entry["_id"]["name"], entry["_id"]["directory"]
                if name:
                    (directories if is_directory else files).append(name)
        return sorted(directories), sorted(files)

    def url(self, name):
        """``base_url`` and the name, as ``FileSystemStorage`` makes them: encoded, "\\" as
        "/", leading slashes dropped (so no name points to another host)."""
        url = filepath_to_uri(name)
        if url is not None:
            url = url.lstrip("/")
        return urljoin(self.base_url, url)

    @property
    def base_url(self):
        base_url = settings.MEDIA_URL if self._base_url is None else self._base_url
        if base_url and not base_url.endswith("/"):
            base_url += "/"
        return base_url

    # -- times --------------------------------------------------------------------------------

    def get_modified_time(self, name):
        """When the newest revision was uploaded."""
        return _django_datetime(self._document_or_error(name)["uploadDate"])

    def get_created_time(self, name):
        """When the oldest revision still stored was uploaded (the newest one, unless a
        program other than this storage adds revisions)."""
        key = names.file_key(name)
        with self._gridfs() as grid:
            document = grid.files.find_one(
                {"filename": key},
                projection={"uploadDate": 1},
                sort=[("uploadDate", ASCENDING), ("_id", ASCENDING)],
            )
        if document is None:
            raise self._missing(name)
        return _django_datetime(document["uploadDate"])

    def get_accessed_time(self, name):
        """GridFS records no reads: the upload time of the newest revision."""
        return self.get_modified_time(name)

    # -- writing ------------------------------------------------------------------------------

    def is_name_available(self, name, max_length=None):
        if self.allow_overwrite:
            return not (max_length and len(name) > max_length)
        return super().is_name_available(name, max_length=max_length)

    def get_alternative_name(self, file_root, file_ext):
        if self.allow_overwrite:
            return f"{file_root}{file_ext}"
        return super().get_alternative_name(file_root, file_ext)

    def _save(self, name, content):
        key = names.file_key(name)
        with self._gridfs() as grid:
            grid_in = grid.bucket.open_upload_stream(key, metadata=_metadata(key))
            try:
                for chunk in content.chunks():
                    grid_in.write(chunk.encode("utf-8") if isinstance(chunk, str) else chunk)
            except BaseException:
                grid_in.abort()
                raise
            grid_in.close()
            file_id = grid_in._id
        if self.allow_overwrite:
            self._delete_older_revisions(key, file_id)
            return key
        while self._taken_by_another(key, file_id):
            key = names.file_key(self.get_available_name(key))
            with self._gridfs() as grid:
                grid.bucket.rename(file_id, key)
        return key

    def _open_writer(self, key, mode):
        if not key:
            raise ValueError("A file name is required to open a file for writing.")
        with self._gridfs() as grid:
            grid_in = grid.bucket.open_upload_stream(key, metadata=_metadata(key))
        return GridFSWriter(
            grid_in,
            key,
            self,
            mode,
            on_close=lambda file_id: self._delete_older_revisions(key, file_id),
        )

    def _taken_by_another(self, key, file_id):
        """Whether a document other than ``file_id`` holds ``key``: another save chose the same
        free name at the same time. Each of two such saves sees at least the document inserted
        first, so at most one keeps the name (both may move on, never both stay)."""
        with self._gridfs() as grid:
            other = grid.files.find_one(
                {"filename": key, "_id": {"$ne": file_id}}, projection={"_id": 1}
            )
        return other is not None

    def _delete_older_revisions(self, key, file_id):
        """Delete ``key``'s revisions uploaded before ``file_id``'s (by ``uploadDate``, then
        ``_id``). Of two overwrites at once the later one stays, never neither."""
        with self._gridfs() as grid:
            files = grid.files
            ours = files.find_one({"_id": file_id}, projection={"uploadDate": 1})
            if ours is None:
                return
            older = files.find(
                {
                    "filename": key,
                    "$or": [
                        {"uploadDate": {"$lt": ours["uploadDate"]}},
                        {"uploadDate": ours["uploadDate"], "_id": {"$lt": file_id}},
                    ],
                },
                projection={"_id": 1},
            )
            for document in list(older):
                _delete_revision(grid.bucket, document["_id"])

    # -- deleting -----------------------------------------------------------------------------

    def delete(self, name):
        """Delete every revision of ``name``; nothing happens when there is none."""
        if not name:
            raise ValueError("The name must be given to delete().")
        key = names.file_key(name)
        with self._gridfs() as grid:
            revisions = grid.files.find({"filename": key}, projection={"_id": 1})
            for document in list(revisions):
                _delete_revision(grid.bucket, document["_id"])


class _Bucket:
    """A ``GridFSBucket`` with the collections it works on: ``root`` (``<bucket>``, what
    ``GridOut`` takes) and ``files`` (``<bucket>.files``, queried directly)."""

    def __init__(self, database, bucket_name, chunk_size):
        self.bucket = gridfs.GridFSBucket(
            database, bucket_name=bucket_name, chunk_size_bytes=chunk_size
        )
        self.root = database[bucket_name]
        self.files = self.root.files


def _delete_revision(bucket, file_id):
    """Delete one revision (its files document, then its chunks); already gone is fine."""
    with contextlib.suppress(gridfs.NoFile):
        bucket.delete(file_id)


def _metadata(key):
    """``metadata`` of a new files document: the type guessed from the name, for programs
    other than Django that serve the bucket (the type a browser declared is never stored)."""
    content_type, _encoding = mimetypes.guess_type(key)
    return {"contentType": content_type} if content_type else None


def _django_datetime(value):
    """A BSON date (naive UTC unless the client is ``tz_aware``) as Django's storages return
    times: aware in UTC with ``USE_TZ``, else naive in ``TIME_ZONE``."""
    aware = value if timezone.is_aware(value) else value.replace(tzinfo=UTC)
    if settings.USE_TZ:
        return aware.astimezone(UTC)
    return timezone.make_naive(aware, timezone.get_default_timezone())


__all__ = ["DEFAULT_CHUNK_SIZE", "GridFSStorage"]
