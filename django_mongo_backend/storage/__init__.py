"""File storage in GridFS: ``GridFSStorage`` (``backend``), the view that serves its files
(``views.serve``, mounted by ``urls``). docs/storage.rst has the settings and the rules."""

from __future__ import annotations

from .backend import DEFAULT_CHUNK_SIZE, GridFSStorage

__all__ = ["DEFAULT_CHUNK_SIZE", "GridFSStorage"]
