"""Models with file fields on ``GridFSStorage`` (tests/storage)."""
