"""The ``File`` objects ``GridFSStorage.open()`` returns: one revision read in chunks, or a new
revision written as it goes.

Reading wraps pymongo's ``GridOut``, which fetches the chunks a ``read(n)`` needs through one
cursor sorted by ``n`` and seeks without reading what it skips: a file is never loaded whole
unless the caller asks for all of it. The size comes from the files document: Django's
``File.size`` would otherwise try ``os.path.getsize(name)``, which for a relative name such as
``"docs/a.pdf"`` looks at the local disk.

Writing (``open(name, "wb")``) streams into a ``GridIn``: the chunks go to the server as they
fill, and the files document is inserted when the file is closed, so until then nobody sees the
new revision, and the name's older revisions are deleted only once it is complete.
"""

from __future__ import annotations

import io

from django.core.files.base import File

READ_MODES = {"r": False, "rt": False, "rb": True, "br": True}
WRITE_MODES = {"w": False, "wt": False, "wb": True, "bw": True}


class _RawReader(io.RawIOBase):
    """``readinto`` over a ``GridOut``, so that ``io.TextIOWrapper`` can decode it ("r")."""

    def __init__(self, grid_out):
        self.grid_out = grid_out

    def readable(self):
        return True

    def readinto(self, buffer):
        data = self.grid_out.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self):
        self.grid_out.close()
        super().close()


class GridFSFile(File):
    """One revision of a stored file, opened for reading (``"rb"``, or ``"r"`` as UTF-8)."""

    def __init__(self, grid_out, name, storage, mode="rb"):
        self.storage = storage
        self.mode = mode
        self.DEFAULT_CHUNK_SIZE = grid_out.chunk_size  # File.chunks() reads whole chunks
        if READ_MODES[mode]:
            stream = grid_out
        else:
            stream = io.TextIOWrapper(
                io.BufferedReader(_RawReader(grid_out), grid_out.chunk_size), encoding="utf-8"
            )
        super().__init__(stream, name)
        self.size = grid_out.length

    def open(self, mode=None):
        """Rewind, or reopen the name's newest revision once closed (``File.open`` would
        reopen ``name`` on the local disk)."""
        if not self.closed and (mode is None or mode == self.mode):
            self.seek(0)
            return self
        reopened = self.storage.open(self.name, mode or self.mode)
        self.__dict__.update(reopened.__dict__)
        return self


class GridFSWriter(File):
    """A new revision of ``name`` being written (``"wb"``, or ``"w"`` encoding text as UTF-8).

    ``close()`` completes the upload and makes it the name's only revision, as opening a
    file for writing truncates it on a file system. Leaving the block of a ``with`` statement
    on an exception aborts the upload instead: the chunks written are removed and the name
    keeps its previous content.
    """

    def __init__(self, grid_in, name, storage, mode="wb", on_close=None):
        self.storage = storage
        self.mode = mode
        self.binary = WRITE_MODES[mode]
        self._on_close = on_close
        self._written = 0
        super().__init__(grid_in, name)

    def write(self, data):
        if isinstance(data, str):
            if self.binary:
                raise TypeError("a bytes-like object is required, not 'str' (mode 'wb')")
            data = data.encode("utf-8")
        self.file.write(data)
        self._written += len(data)
        return len(data)

    def writable(self):
        return not self.closed

    def readable(self):
        return False

    @property
    def closed(self):
        return self.file.closed

    @property
    def size(self):
        return self._written  # so far

    def close(self):
        if self.file.closed:
            return
        self.file.close()
        if self._on_close is not None:
            self._on_close(self.file._id)

    def abort(self):
        """Drop what was written; the name keeps its previous revision."""
        if not self.file.closed:
            self.file.abort()

    def __exit__(self, exc_type, exc_value, traceback):
        if exc_type is None:
            self.close()
        else:
            self.abort()
