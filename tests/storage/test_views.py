"""``django_mongo_backend.storage.views.serve`` through Django's test client (tests/urls.py
mounts it: ``/media/`` for ``STORAGES["default"]``, ``/attachments/`` for tests.storageapp's
bucket)."""

from __future__ import annotations

import datetime
import warnings

import pytest
from asgiref.sync import async_to_sync
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.urls import reverse
from django.utils.http import http_date

from tests.storageapp.models import Document, attachments

DATA = bytes(range(256)) * 40  # 10,240 bytes


@pytest.fixture
def default_storage_gridfs(gridfs_access):
    """``STORAGES["default"]`` a GridFSStorage on its own bucket (what /media/ serves)."""
    with override_settings(
        STORAGES={
            "default": {
                "BACKEND": "django_mongo_backend.storage.GridFSStorage",
                "OPTIONS": {"bucket_name": "t_media", "chunk_size": 1024},
            },
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        }
    ):
        from django.core.files.storage import default_storage

        yield default_storage


def body(response):
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_serves_a_file_of_the_default_storage(client, default_storage_gridfs):
    name = default_storage_gridfs.save("reports/2024/data.bin", ContentFile(DATA))
    url = default_storage_gridfs.url(name)
    assert url == "/media/reports/2024/data.bin"
    assert reverse("gridfs-file", kwargs={"name": name}) == url
    response = client.get(url)
    assert response.status_code == 200
    assert response.streaming  # sent chunk by chunk
    chunks = list(response.streaming_content)
    assert b"".join(chunks) == DATA
    assert [len(chunk) for chunk in chunks] == [1024] * 10  # the storage's chunk size
    document = default_storage_gridfs.file_document(name)
    assert response.headers["Content-Length"] == str(len(DATA))
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert response.headers["ETag"] == f'"{document["_id"]}"'
    uploaded = document["uploadDate"].replace(tzinfo=datetime.UTC)
    assert response.headers["Last-Modified"] == http_date(uploaded.timestamp())
    assert response.headers["Accept-Ranges"] == "bytes"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Disposition"] == 'attachment; filename="data.bin"'


def test_serves_a_field_file_at_its_url(client, gridfs_access):
    obj = Document.objects.create(file=SimpleUploadedFile("photo.png", b"\x89PNG fake"))
    assert obj.file.url == "/attachments/docs/photo.png"
    response = client.get(obj.file.url)
    assert response.status_code == 200
    assert body(response) == b"\x89PNG fake"
    assert response.headers["Content-Type"] == "image/png"
    assert response.headers["Content-Disposition"] == 'inline; filename="photo.png"'


def test_missing_file_is_404(client, default_storage_gridfs):
    assert client.get("/media/nothing/here.txt").status_code == 404
    assert client.get("/attachments/docs/none.pdf").status_code == 404
    default_storage_gridfs.save("dir/file.txt", ContentFile(b"x"))
    assert client.get("/media/dir").status_code == 404  # a directory is no file


def test_traversal_is_refused(client, default_storage_gridfs):
    # The path converter lets "a/../b" through; the name is refused as the storage refuses it
    # (SuspiciousFileOperation: 400, logged on django.security).
    default_storage_gridfs.save("b.txt", ContentFile(b"x"))
    assert client.get("/media/a/../b.txt").status_code == 400
    assert client.get("/media/%2E%2E/b.txt").status_code == 400


def test_head(client, default_storage_gridfs):
    name = default_storage_gridfs.save("h.txt", ContentFile(b"hello"))
    response = client.head(f"/media/{name}")
    assert response.status_code == 200
    assert response.content == b""
    assert not response.streaming
    assert response.headers["Content-Length"] == "5"
    assert response.headers["Content-Type"] == "text/plain"


def test_only_get_and_head(client, default_storage_gridfs):
    name = default_storage_gridfs.save("h.txt", ContentFile(b"hello"))
    for method in (client.post, client.put, client.delete):
        assert method(f"/media/{name}").status_code == 405
    assert default_storage_gridfs.exists(name)


def test_conditional_requests(client, default_storage_gridfs):
    name = default_storage_gridfs.save("c.txt", ContentFile(b"cached"))
    first = client.get(f"/media/{name}")
    etag, last_modified = first.headers["ETag"], first.headers["Last-Modified"]
    not_modified = client.get(f"/media/{name}", headers={"If-None-Match": etag})
    assert not_modified.status_code == 304
    assert not_modified.content == b""
    assert not_modified.headers["ETag"] == etag
    since = client.get(f"/media/{name}", headers={"If-Modified-Since": last_modified})
    assert since.status_code == 304
    other = client.get(f"/media/{name}", headers={"If-None-Match": '"something-else"'})
    assert other.status_code == 200
    assert body(other) == b"cached"
    # A new revision of the name is a new representation: the old ETag no longer matches.
    default_storage_gridfs.delete(name)
    default_storage_gridfs.save(name, ContentFile(b"changed"))
    changed = client.get(f"/media/{name}", headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert body(changed) == b"changed"
    assert changed.headers["ETag"] != etag


@pytest.mark.parametrize(
    ("header", "first", "last"),
    [("bytes=0-99", 0, 99), ("bytes=1000-", 1000, 10_239), ("bytes=-10", 10_230, 10_239)],
)
def test_range(client, default_storage_gridfs, header, first, last):
    name = default_storage_gridfs.save("r.bin", ContentFile(DATA))
    response = client.get(f"/media/{name}", headers={"Range": header})
    assert response.status_code == 206
    assert body(response) == DATA[first : last + 1]
    assert response.headers["Content-Range"] == f"bytes {first}-{last}/{len(DATA)}"
    assert response.headers["Content-Length"] == str(last - first + 1)


def test_range_reads_only_the_chunks_it_needs(client, default_storage_gridfs, gridfs_access):
    name = default_storage_gridfs.save("r.bin", ContentFile(DATA))
    document = default_storage_gridfs.file_document(name)
    gridfs_access["t_media.chunks"].delete_one({"files_id": document["_id"], "n": 0})
    response = client.get(f"/media/{name}", headers={"Range": "bytes=5000-5100"})
    assert body(response) == DATA[5000:5101]  # chunk 0 was never needed


def test_unsatisfiable_range(client, default_storage_gridfs):
    name = default_storage_gridfs.save("r.bin", ContentFile(b"short"))
    response = client.get(f"/media/{name}", headers={"Range": "bytes=5-"})
    assert response.status_code == 416
    assert response.headers["Content-Range"] == "bytes */5"


def test_several_ranges_get_the_whole_file(client, default_storage_gridfs):
    name = default_storage_gridfs.save("r.bin", ContentFile(DATA))
    response = client.get(f"/media/{name}", headers={"Range": "bytes=0-1,5-6"})
    assert response.status_code == 200
    assert body(response) == DATA


def test_if_range(client, default_storage_gridfs):
    name = default_storage_gridfs.save("r.bin", ContentFile(DATA))
    etag = client.head(f"/media/{name}").headers["ETag"]
    same = client.get(f"/media/{name}", headers={"Range": "bytes=0-9", "If-Range": etag})
    assert same.status_code == 206
    stale = client.get(f"/media/{name}", headers={"Range": "bytes=0-9", "If-Range": '"old"'})
    assert stale.status_code == 200
    assert body(stale) == DATA


def test_empty_file(client, default_storage_gridfs):
    name = default_storage_gridfs.save("empty.txt", ContentFile(b""))
    response = client.get(f"/media/{name}")
    assert response.status_code == 200
    assert body(response) == b""
    assert response.headers["Content-Length"] == "0"


@pytest.mark.parametrize(
    ("name", "content_type", "disposition"),
    [
        ("page.html", "text/html", "attachment"),  # would run as a page of the site
        ("drawing.svg", "image/svg+xml", "attachment"),  # an image that can hold scripts
        ("script.js", "text/javascript", "attachment"),
        ("notes.txt", "text/plain", "inline"),
        ("paper.pdf", "application/pdf", "inline"),
        ("song.mp3", "audio/mpeg", "inline"),
        ("clip.mp4", "video/mp4", "inline"),
        ("archive.tar.gz", "application/gzip", "attachment"),  # the archive, as FileResponse
        ("noextension", "application/octet-stream", "attachment"),
    ],
)
def test_content_type_and_disposition(
    client, default_storage_gridfs, name, content_type, disposition
):
    default_storage_gridfs.save(name, ContentFile(b"x"))
    response = client.get(f"/media/{name}")
    assert response.headers["Content-Type"] == content_type
    assert response.headers["Content-Disposition"] == f'{disposition}; filename="{name}"'


def test_disposition_of_unusual_names(client, default_storage_gridfs):
    default_storage_gridfs.save("dir/résumé €.txt", ContentFile(b"x"))
    response = client.get("/media/dir/r%C3%A9sum%C3%A9%20%E2%82%AC.txt")
    assert response.status_code == 200
    # Not ASCII: RFC 6266's filename*, never raw UTF-8 in a header.
    assert response.headers["Content-Disposition"] == (
        "inline; filename*=utf-8''r%C3%A9sum%C3%A9%20%E2%82%AC.txt"
    )
    default_storage_gridfs.save('say "hi".txt', ContentFile(b"x"))
    response = client.get("/media/say%20%22hi%22.txt")
    assert response.headers["Content-Disposition"] == 'inline; filename="say \\"hi\\".txt"'


def test_a_storage_that_is_not_gridfs_is_a_configuration_error(client, gridfs_access):
    # STORAGES["default"] of the test settings is FileSystemStorage.
    with pytest.raises(ImproperlyConfigured, match="serves a GridFSStorage"):
        client.get("/media/a.txt")


def test_each_mount_serves_its_own_bucket(client, default_storage_gridfs):
    attachments.save("docs/here.txt", ContentFile(b"here"))
    assert body(client.get("/attachments/docs/here.txt")) == b"here"
    assert client.get("/media/docs/here.txt").status_code == 404


def test_asgi_streams_chunk_by_chunk(async_client, default_storage_gridfs):
    # Under ASGI, Django reads a synchronous iterator whole before sending: the view gives
    # it an asynchronous one, so the chunks still come one at a time.
    name = default_storage_gridfs.save("a.bin", ContentFile(DATA))

    async def fetch():
        response = await async_client.get(f"/media/{name}", headers={"Range": "bytes=100-3099"})
        return response, [chunk async for chunk in response.streaming_content]

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        response, chunks = async_to_sync(fetch)()
    assert not [w for w in caught if "must consume" in str(w.message)]
    assert response.status_code == 206
    assert response.is_async
    assert [len(chunk) for chunk in chunks] == [1024, 1024, 952]
    assert b"".join(chunks) == DATA[100:3100]
