"""``GridFSStorage`` through Django's Storage API.

The first part follows Django's own ``FileStorageTests`` (tests/file_storage/tests.py in
Django's suite), whose tests are written against ``FileSystemStorage`` (they read
``storage.path()`` and the temporary directory): each test here is the same check made
through the storage or the bucket. The second part is what GridFS adds: revisions of one
name, chunks, the indexes pymongo creates, and a file read without being loaded.
"""

from __future__ import annotations

import datetime
import io
import threading
import time
from pathlib import Path

import gridfs
import pytest
from django.core.exceptions import SuspiciousFileOperation
from django.core.files.base import ContentFile, File
from django.core.files.uploadedfile import (
    InMemoryUploadedFile,
    SimpleUploadedFile,
    TemporaryUploadedFile,
)
from django.db import connections
from django.test import override_settings
from django.utils import timezone

from django_mongo_backend.storage import DEFAULT_CHUNK_SIZE, GridFSStorage

FILE_SUFFIX_REGEX = "[A-Za-z0-9]{7}"


def files_of(db, bucket="t_storage"):
    return list(db[f"{bucket}.files"].find({}, sort=[("filename", 1), ("uploadDate", 1)]))


# -- Django's FileStorageTests, through the storage ------------------------------------------


def test_file_access_options(storage):
    assert not storage.exists("storage_test")
    with storage.open("storage_test", "w") as f:
        f.write("storage contents")
    assert storage.exists("storage_test")
    with storage.open("storage_test", "r") as f:
        assert f.read() == "storage contents"
    storage.delete("storage_test")
    assert not storage.exists("storage_test")


def test_file_save_without_name(storage):
    f = ContentFile("custom contents")
    f.name = "test.file"
    assert storage.save(None, f) == "test.file"
    assert storage.exists("test.file")


def test_file_save_with_path(storage):
    # "Directories" come into being with the first name below them.
    assert not storage.exists("path/to")
    storage.save("path/to/test.file", ContentFile("file saved with path"))
    assert storage.exists("path/to")
    assert storage.exists("path")
    with storage.open("path/to/test.file") as f:
        assert f.read() == b"file saved with path"


def test_save_doesnt_close(storage):
    with TemporaryUploadedFile("test", "text/plain", 1, "utf8") as file:
        file.write(b"1")
        file.seek(0)
        storage.save("path/to/test.file", file)
        assert not file.closed
        assert not file.file.closed
    file = InMemoryUploadedFile(io.StringIO("1"), "", "test", "text/plain", 1, "utf8")
    with file:
        storage.save("path/to/test.file", file)
        assert not file.closed
        assert not file.file.closed


def test_path_is_not_available(storage):
    # Storage.path() is for storages open() can read with Python's open(): not this one.
    with pytest.raises(NotImplementedError):
        storage.path("test.file")


def test_file_url(storage):
    assert storage.url("test.file") == "/test_media_url/test.file"
    # Special characters are encoded as encodeURIComponent() does, except ~!*()'.
    assert (
        storage.url(r"~!*()'@#$%^&*abc`+ =.file")
        == "/test_media_url/~!*()'%40%23%24%25%5E%26*abc%60%2B%20%3D.file"
    )
    assert storage.url("ab\0c") == "/test_media_url/ab%00c"
    assert storage.url("a/b\\c.file") == "/test_media_url/a/b/c.file"
    # Leading slashes are dropped, so no name makes a URL to another host.
    for name in ["/evil.com", r"\evil.com", "///evil.com", r"\\\evil.com"]:
        assert storage.url(name) == "/test_media_url/evil.com"
    assert storage.url(None) == "/test_media_url/"


def test_base_url(gridfs_access):
    # MEDIA_URL by default, read when used; a missing trailing slash is added.
    storage = GridFSStorage()
    assert storage.url("a.txt") == "/media/a.txt"
    with override_settings(MEDIA_URL="/elsewhere"):
        assert storage.url("a.txt") == "/elsewhere/a.txt"
    with override_settings(MEDIA_URL=""):  # Django's settings add the script prefix
        assert storage.url("a.txt") == "/a.txt"
    assert GridFSStorage(base_url="/no_ending_slash").url("a") == "/no_ending_slash/a"
    assert GridFSStorage(base_url="https://cdn.example/f/").url("a b") == (
        "https://cdn.example/f/a%20b"
    )


def test_listdir(storage):
    storage.save("storage_test_1", ContentFile("custom content"))
    storage.save("storage_test_2", ContentFile("custom content"))
    storage.save("storage_dir_1/inner", ContentFile("custom content"))
    storage.save("storage_dir_1/deeper/still/file", ContentFile("x"))
    storage.save("storage_dir_2/é/ü.txt", ContentFile("x"))
    for directory in ("", Path(""), "."):
        assert storage.listdir(directory) == (
            ["storage_dir_1", "storage_dir_2"],
            ["storage_test_1", "storage_test_2"],
        )
    assert storage.listdir("storage_dir_1") == (["deeper"], ["inner"])
    assert storage.listdir("storage_dir_1/") == (["deeper"], ["inner"])
    assert storage.listdir("storage_dir_1/deeper/still") == ([], ["file"])
    assert storage.listdir("storage_dir_2/é") == ([], ["ü.txt"])
    # A directory is a prefix of names: none, and nothing is listed (no error).
    assert storage.listdir("nothing/here") == ([], [])
    assert storage.listdir("storage_test_1") == ([], [])
    # A prefix of a directory's name is not that directory.
    assert storage.listdir("storage_dir") == ([], [])


def test_listdir_lists_a_name_once_whatever_its_revisions(storage, bucket_db):
    storage.save("one.txt", ContentFile("1"))
    bucket = gridfs.GridFSBucket(bucket_db, "t_storage")
    bucket.upload_from_stream("one.txt", b"2")  # a revision another program added
    assert storage.listdir("") == ([], ["one.txt"])


def test_file_storage_prevents_directory_traversal(storage):
    for name in ["..", "/etc/passwd", "a/../../b", "a/../b", "\\etc\\passwd"]:
        for method in (storage.exists, storage.open, storage.size, storage.delete):
            with pytest.raises(SuspiciousFileOperation):
                method(name)
        with pytest.raises(SuspiciousFileOperation):
            storage.listdir(name)
        with pytest.raises(SuspiciousFileOperation):
            storage.save(name, ContentFile("x"))


def test_file_storage_preserves_filename_case(storage):
    storage.save("CaSe_SeNsItIvE", ContentFile("storage contents"))
    assert storage.exists("CaSe_SeNsItIvE")
    assert not storage.exists("case_sensitive")


def test_file_chunks_error_leaves_nothing(storage, bucket_db):
    f = ContentFile("x" * (3 * 1024 * 1024))

    def failing_chunks(chunk_size=None):
        yield b"y" * DEFAULT_CHUNK_SIZE * 2  # two chunks reach the server
        raise OSError("the upload broke")

    f.chunks = failing_chunks
    with pytest.raises(OSError, match="the upload broke"):
        storage.save("error.file", f)
    assert not storage.exists("error.file")
    assert bucket_db["t_storage.chunks"].count_documents({}) == 0  # aborted: chunks removed


def test_delete_no_name(storage):
    for name in (None, ""):
        with pytest.raises(ValueError, match=r"The name must be given to delete\(\)"):
            storage.delete(name)


def test_delete_missing_file_is_quiet(storage):
    storage.delete("never-saved.txt")


def test_file_methods_pathlib_path(storage):
    p = Path("test.file")
    assert storage.save(p, ContentFile("custom contents")) == "test.file"
    assert storage.size(p) == 15
    assert storage.url(p) == "/test_media_url/test.file"
    with storage.open(p) as f:
        assert f.read() == b"custom contents"


def test_custom_get_available_name(gridfs_access):
    class TracStorage(GridFSStorage):
        def get_available_name(self, name, max_length=None):
            base, dot, ext = name.rpartition(".")
            number = 2
            while self.exists(name):
                name = f"{base}.{number}.{ext}" if dot else f"{name}.{number}"
                number += 1
            return name

    storage = TracStorage(bucket_name="t_storage")
    assert storage.save("custom_storage", ContentFile("custom contents")) == "custom_storage"
    assert storage.save("custom_storage", ContentFile("more contents")) == "custom_storage.2"


def test_content_saving(storage):
    # Text content is stored as UTF-8.
    storage.save("bytes.txt", ContentFile(b"content"))
    storage.save("unicode.txt", ContentFile("español"))
    assert storage.size("unicode.txt") == len("español".encode())
    assert storage.open("unicode.txt").read() == "español".encode()


def test_stringio(storage):
    storage.save("tests/stringio", io.StringIO("content"))
    with storage.open("tests/stringio") as f:
        assert f.read() == b"content"


def test_directory_with_dot(storage):
    storage.save("dotted.path/test", ContentFile("1"))
    storage.save("dotted.path/test", ContentFile("2"))
    assert storage.listdir("") == (["dotted.path"], [])
    first, second = storage.listdir("dotted.path")[1]
    assert first == "test"
    assert second.startswith("test_")


def test_first_character_dot(storage):
    storage.save("dotted.path/.test", ContentFile("1"))
    second = storage.save("dotted.path/.test", ContentFile("2"))
    assert storage.listdir("dotted.path")[1] == sorted([".test", second.rpartition("/")[2]])
    assert second.rpartition("/")[2].startswith(".test_")


# -- times ------------------------------------------------------------------------------------


def upload_date(db, name, bucket="t_storage"):
    document = db[f"{bucket}.files"].find_one({"filename": name})
    return document["uploadDate"].replace(tzinfo=datetime.UTC)


@pytest.mark.parametrize("getter", ["get_modified_time", "get_created_time", "get_accessed_time"])
def test_times_are_the_upload_date(storage, bucket_db, getter):
    before = timezone.now().replace(microsecond=0)
    name = storage.save("test.file", ContentFile("custom contents"))
    value = getattr(storage, getter)(name)
    # Aware, in UTC, with USE_TZ (the test settings); exactly the files document's date.
    assert timezone.is_aware(value)
    assert value.utcoffset() == datetime.timedelta(0)
    assert value == upload_date(bucket_db, name)
    assert value >= before


@pytest.mark.parametrize("getter", ["get_modified_time", "get_created_time", "get_accessed_time"])
def test_times_without_use_tz_are_naive_in_time_zone(storage, bucket_db, getter):
    # As FileSystemStorage: naive, in the local time, which Django sets to TIME_ZONE; not in
    # the current time zone (timezone.override) nor in UTC.
    name = storage.save("test.file", ContentFile("custom contents"))
    with (
        override_settings(USE_TZ=False, TIME_ZONE="Africa/Algiers"),  # UTC+1, no DST
        timezone.override(timezone.get_fixed_timezone(-300)),
    ):
        value = getattr(storage, getter)(name)
    assert timezone.is_naive(value)
    assert value == upload_date(bucket_db, name).replace(tzinfo=None) + datetime.timedelta(hours=1)


def test_times_read_a_tz_aware_client(gridfs_access, settings):
    # A CLIENT with tz_aware=True hands back aware dates: the same instants.
    storage = GridFSStorage(bucket_name="t_storage")
    name = storage.save("a.txt", ContentFile("a"))
    naive_value = storage.get_modified_time(name)
    wrapper = connections["default"]
    original = wrapper.connection.database
    wrapper.connection.database = original.client.get_database(
        original.name, codec_options=original.codec_options.with_options(tz_aware=True)
    )
    try:
        assert storage.get_modified_time(name) == naive_value
    finally:
        wrapper.connection.database = original


def test_created_time_is_the_oldest_revision(storage, bucket_db):
    storage.save("a.txt", ContentFile("first"))
    time.sleep(0.01)  # distinct upload dates (milliseconds)
    gridfs.GridFSBucket(bucket_db, "t_storage").upload_from_stream("a.txt", b"second")
    assert storage.get_created_time("a.txt") < storage.get_modified_time("a.txt")


def test_times_and_size_of_a_missing_file(storage):
    for method in ("size", "get_modified_time", "get_created_time", "get_accessed_time"):
        with pytest.raises(FileNotFoundError, match=r"missing\.txt"):
            getattr(storage, method)("missing.txt")
    with pytest.raises(FileNotFoundError):
        storage.open("missing.txt")


# -- names: collisions, overwriting, races -----------------------------------------------------


def test_collision_gets_an_alternative_name(storage, bucket_db):
    first = storage.save("docs/report.tar.gz", ContentFile("one"))
    second = storage.save("docs/report.tar.gz", ContentFile("two"))
    assert first == "docs/report.tar.gz"
    assert second.startswith("docs/report_")
    assert second.endswith(".tar.gz")
    assert len(second) == len(first) + 8  # "_" and seven characters
    assert [d["filename"] for d in files_of(bucket_db)] == sorted([first, second])
    assert storage.open(first).read() == b"one"
    assert storage.open(second).read() == b"two"


def test_name_taken_by_a_directory_is_not_available(storage):
    storage.save("thing/inside.txt", ContentFile("x"))
    name = storage.save("thing", ContentFile("y"))
    assert name.startswith("thing_")


def test_name_with_a_revision_from_elsewhere_is_taken(storage, bucket_db):
    # Another program's upload is a file like any other: save() does not add a revision.
    gridfs.GridFSBucket(bucket_db, "t_storage").upload_from_stream("theirs.txt", b"theirs")
    assert storage.exists("theirs.txt")
    assert storage.save("theirs.txt", ContentFile("ours")) != "theirs.txt"


def test_max_length_truncates_the_alternative(storage):
    storage.save("test_long_file_name.txt", ContentFile("1"))
    name = storage.save("test_long_file_name.txt", ContentFile("2"), max_length=20)
    assert len(name) == 20
    assert name.startswith("test_lo")
    storage.save("short.longext", ContentFile("1"))
    with pytest.raises(SuspiciousFileOperation, match="Storage can not find an available"):
        storage.save("short.longext", ContentFile("2"), max_length=13)


class SaveAgainWhileUploading(ContentFile):
    """Content whose upload lets another save take the same name before it completes: the
    other process checked the name after this one did, and finished first."""

    def __init__(self, content, other_storage, other_content):
        super().__init__(content)
        self.other = (other_storage, other_content)

    def chunks(self, chunk_size=None):
        other_storage, other_content = self.other
        yield from super().chunks(chunk_size)
        assert other_storage.save("race.txt", ContentFile(other_content)) == "race.txt"


def test_name_taken_during_the_upload_moves_the_late_file(storage, bucket_db):
    other = GridFSStorage(bucket_name="t_storage")
    name = storage.save("race.txt", SaveAgainWhileUploading(b"late", other, b"first"))
    assert name.startswith("race_")
    assert storage.open("race.txt").read() == b"first"
    assert storage.open(name).read() == b"late"
    assert sorted(d["filename"] for d in files_of(bucket_db)) == sorted(["race.txt", name])


class SlowFile(ContentFile):
    def chunks(self, chunk_size=None):
        time.sleep(0.5)  # both saves pass get_available_name() before either uploads
        return super().chunks(chunk_size)


def test_race_condition_between_threads(storage, bucket_db):
    # Django's FileSaveRaceConditionTest: two threads save one name at once.
    errors = []

    def save():
        try:
            GridFSStorage(bucket_name="t_storage").save("conflict", SlowFile(b"Data"))
        except Exception as error:
            errors.append(error)
        finally:
            connections.close_all()

    thread = threading.Thread(target=save)
    thread.start()
    save()
    thread.join()
    assert errors == []
    stored = sorted(d["filename"] for d in files_of(bucket_db))
    assert len(stored) == 2
    assert len(set(stored)) == 2  # never two revisions of one name
    assert all(name == "conflict" or name.startswith("conflict_") for name in stored)


def test_allow_overwrite_replaces_the_file(gridfs_access, bucket_db):
    storage = GridFSStorage(bucket_name="t_storage", allow_overwrite=True)
    assert storage.save("test.file", ContentFile(b"content extra extra extra")) == "test.file"
    assert storage.save("test.file", ContentFile(b"content")) == "test.file"
    with storage.open("test.file") as f:
        assert f.read() == b"content"
    documents = files_of(bucket_db)
    assert [d["filename"] for d in documents] == ["test.file"]  # the old revision is gone
    assert bucket_db["t_storage.chunks"].count_documents({}) == 1
    assert bucket_db["t_storage.chunks"].find_one()["files_id"] == documents[0]["_id"]


def test_allow_overwrite_with_temporary_upload(gridfs_access):
    storage = GridFSStorage(bucket_name="t_storage", allow_overwrite=True)
    for content in (b"content one", b"second content"):
        with TemporaryUploadedFile("tmp", "text/plain", len(content), "utf8") as upload:
            upload.write(content)
            upload.seek(0)
            assert storage.save("test.file", upload) == "test.file"
        assert storage.open("test.file").read() == content


def test_allow_overwrite_truncates_to_max_length(gridfs_access):
    storage = GridFSStorage(bucket_name="t_storage", allow_overwrite=True)
    assert storage.save("test_long_file_name.txt", ContentFile(b"c"), max_length=10) == (
        "test_l.txt"
    )
    with pytest.raises(SuspiciousFileOperation, match="Storage can not find an available"):
        storage.save("file_name.longext", ContentFile(b"c"), max_length=5)


def test_overwrite_keeps_a_newer_revision(gridfs_access, bucket_db):
    # Two overwrites at once: each deletes only the revisions older than its own, so the
    # later upload stays whichever finishes its clean-up last.
    storage = GridFSStorage(bucket_name="t_storage", allow_overwrite=True)
    files = bucket_db["t_storage.files"]
    files.insert_one(
        {
            "filename": "a.txt",
            "length": 0,
            "chunkSize": 1024,
            "uploadDate": datetime.datetime(2999, 1, 1),
        }
    )
    storage.save("a.txt", ContentFile(b"now"))
    assert files.count_documents({"filename": "a.txt"}) == 2
    assert storage.size("a.txt") == 0  # the newest revision is the one read


# -- reading and writing ---------------------------------------------------------------------


def test_open_reads_the_newest_revision(storage, bucket_db):
    bucket = gridfs.GridFSBucket(bucket_db, "t_storage")
    bucket.upload_from_stream("a.txt", b"old")
    time.sleep(0.01)
    bucket.upload_from_stream("a.txt", b"newer")
    with storage.open("a.txt") as f:
        assert f.read() == b"newer"
        assert f.size == 5
    assert storage.size("a.txt") == 5


def test_read_in_chunks_never_fetches_the_rest(gridfs_access, bucket_db):
    storage = GridFSStorage(bucket_name="t_storage", chunk_size=1024)
    data = bytes(range(256)) * 200  # 51,200 bytes: 50 chunks
    storage.save("big.bin", ContentFile(data))
    document = bucket_db["t_storage.files"].find_one()
    assert document["chunkSize"] == 1024
    assert bucket_db["t_storage.chunks"].count_documents({"files_id": document["_id"]}) == 50
    # Remove the last chunk: whatever does not need it still reads, so nothing fetched it.
    bucket_db["t_storage.chunks"].delete_one({"files_id": document["_id"], "n": 49})
    with storage.open("big.bin") as f:
        assert f.read(300) == data[:300]
        assert f.read(1000) == data[300:1300]
        f.seek(40_000)
        assert f.read(2048) == data[40_000:42_048]
        pieces = []
        f.seek(0)
        for _ in range(3):
            pieces.append(f.read(1024))
        assert b"".join(pieces) == data[:3072]
        f.seek(0)
        with pytest.raises(gridfs.errors.CorruptGridFile):
            f.read()  # all of it needs the missing chunk


def test_chunks_follow_the_chunk_size(gridfs_access):
    storage = GridFSStorage(bucket_name="t_storage", chunk_size=1000)
    data = b"x" * 3500
    storage.save("c.bin", ContentFile(data))
    with storage.open("c.bin") as f:
        assert f.DEFAULT_CHUNK_SIZE == 1000
        assert [len(chunk) for chunk in f.chunks()] == [1000, 1000, 1000, 500]
        assert b"".join(f.chunks(chunk_size=700)) == data  # chunks() starts from the beginning
        assert f.multiple_chunks()


def test_chunks_come_back_in_order(gridfs_access):
    # pymongo reads chunks sorted by n; the embedded server shuffles what is unsorted, so a
    # file spanning many chunks read back intact shows the sort is honoured.
    storage = GridFSStorage(bucket_name="t_storage", chunk_size=16)
    data = bytes(range(256)) * 4
    storage.save("ordered.bin", ContentFile(data))
    assert storage.open("ordered.bin").read() == data


def test_text_mode_decodes_utf8_across_chunks(gridfs_access):
    storage = GridFSStorage(bucket_name="t_storage", chunk_size=3)
    text = "é€ü\nsecond line ✓\n"
    storage.save("t.txt", ContentFile(text))
    with storage.open("t.txt", "r") as f:
        assert f.readline() == "é€ü\n"
        assert f.read() == "second line ✓\n"


def test_size_does_not_look_at_the_local_disk(storage, tmp_path, monkeypatch):
    # Django's File.size tries os.path.getsize(name): a local file of the same relative name
    # must not answer for the stored one.
    monkeypatch.chdir(tmp_path)
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.txt").write_bytes(b"a local file, longer than the stored one")
    storage.save("docs/a.txt", ContentFile(b"stored"))
    with storage.open("docs/a.txt") as f:
        assert f.size == 6
        assert len(f) == 6


def test_closed_file_reopens_from_the_storage(storage, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.txt").write_bytes(b"local")
    storage.save("a.txt", ContentFile(b"stored"))
    f = storage.open("a.txt")
    f.read()
    f.close()
    assert f.closed
    f.open()
    assert f.read() == b"stored"
    f.open()  # an open file is rewound
    assert f.read(3) == b"sto"
    f.close()


def test_open_for_writing_replaces_the_file(storage, bucket_db):
    storage.save("w.bin", ContentFile(b"old content"))
    with storage.open("w.bin", "wb") as f:
        f.write(b"new ")
        f.write(b"content")
        assert f.size == 11
        assert storage.open("w.bin").read() == b"old content"  # not visible until closed
    assert storage.open("w.bin").read() == b"new content"
    assert [d["filename"] for d in files_of(bucket_db)] == ["w.bin"]


def test_open_for_writing_aborted_keeps_the_old_content(storage, bucket_db):
    storage.save("w.bin", ContentFile(b"old content"))
    old_chunks = bucket_db["t_storage.chunks"].count_documents({})
    with pytest.raises(RuntimeError), storage.open("w.bin", "wb") as f:
        f.write(b"x" * (DEFAULT_CHUNK_SIZE + 10))  # a chunk reaches the server
        raise RuntimeError
    assert storage.open("w.bin").read() == b"old content"
    assert bucket_db["t_storage.chunks"].count_documents({}) == old_chunks


def test_open_modes(storage):
    storage.save("m.txt", ContentFile(b"x"))
    for mode in ("a", "r+", "ab", "x", "w+"):
        with pytest.raises(ValueError, match="mode"):
            storage.open("m.txt", mode)
    with storage.open("m.txt", "wb") as f, pytest.raises(TypeError):
        f.write("text in a binary file")


def test_save_accepts_a_file_opened_from_the_storage(storage):
    storage.save("src.txt", ContentFile(b"copied"))
    with storage.open("src.txt") as source:
        assert storage.save("dst.txt", File(source, name="src.txt")) == "dst.txt"
    assert storage.open("dst.txt").read() == b"copied"


def test_uploaded_file(storage):
    upload = SimpleUploadedFile("up.txt", b"uploaded", content_type="text/html")
    storage.save("up.txt", upload)
    assert storage.open("up.txt").read() == b"uploaded"


# -- what the bucket holds (what another program reading it sees) -----------------------------


def test_files_document_and_indexes(storage, bucket_db):
    storage.save("docs/report.pdf", ContentFile(b"%PDF-1.4"))
    storage.save("README", ContentFile(b"no extension"))
    pdf, readme = files_of(bucket_db)[::-1]
    assert set(pdf) == {"_id", "filename", "length", "chunkSize", "uploadDate", "metadata"}
    assert pdf["filename"] == "docs/report.pdf"
    assert pdf["length"] == 8
    assert pdf["chunkSize"] == DEFAULT_CHUNK_SIZE == 261_120
    assert pdf["metadata"] == {"contentType": "application/pdf"}
    assert "metadata" not in readme  # nothing to say
    chunk = bucket_db["t_storage.chunks"].find_one({"files_id": pdf["_id"]})
    assert chunk["n"] == 0
    assert chunk["data"] == b"%PDF-1.4"
    # The indexes the GridFS specification asks drivers to create, as pymongo creates them.
    files_indexes = {ix["name"]: ix for ix in bucket_db["t_storage.files"].list_indexes()}
    chunks_indexes = {ix["name"]: ix for ix in bucket_db["t_storage.chunks"].list_indexes()}
    assert dict(files_indexes["filename_1_uploadDate_1"]["key"]) == {
        "filename": 1,
        "uploadDate": 1,
    }
    assert dict(chunks_indexes["files_id_1_n_1"]["key"]) == {"files_id": 1, "n": 1}
    assert chunks_indexes["files_id_1_n_1"]["unique"] is True


def test_delete_removes_every_revision_and_its_chunks(storage, bucket_db):
    storage.save("gone.txt", ContentFile(b"1"))
    gridfs.GridFSBucket(bucket_db, "t_storage").upload_from_stream("gone.txt", b"2")
    storage.save("kept.txt", ContentFile(b"3"))
    storage.delete("gone.txt")
    assert not storage.exists("gone.txt")
    assert [d["filename"] for d in files_of(bucket_db)] == ["kept.txt"]
    assert bucket_db["t_storage.chunks"].count_documents({}) == 1


def test_delete_of_a_directory_deletes_nothing(storage):
    storage.save("dir/a.txt", ContentFile(b"1"))
    storage.delete("dir")
    assert storage.exists("dir/a.txt")


def test_buckets_are_separate(gridfs_access):
    one = GridFSStorage(bucket_name="t_storage")
    two = GridFSStorage(bucket_name="t_media")
    one.save("same.txt", ContentFile(b"one"))
    assert not two.exists("same.txt")
    assert two.save("same.txt", ContentFile(b"two")) == "same.txt"
    assert one.open("same.txt").read() == b"one"


# -- configuration ------------------------------------------------------------------------------


def test_deconstruct():
    path, args, kwargs = GridFSStorage().deconstruct()
    assert (path, args, kwargs) == ("django_mongo_backend.storage.GridFSStorage", (), {})
    storage = GridFSStorage(
        using="other", bucket_name="b", base_url="/b/", chunk_size=1024, allow_overwrite=True
    )
    path, args, kwargs = storage.deconstruct()
    assert kwargs == {
        "using": "other",
        "bucket_name": "b",
        "base_url": "/b/",
        "chunk_size": 1024,
        "allow_overwrite": True,
    }
    assert GridFSStorage(*args, **kwargs).deconstruct() == (path, args, kwargs)


@pytest.mark.parametrize("chunk_size", [0, -1, 1.5, "1024", True])
def test_chunk_size_must_be_a_positive_integer(chunk_size):
    with pytest.raises(ValueError, match="chunk_size"):
        GridFSStorage(chunk_size=chunk_size)


@pytest.mark.django_db(databases=["default", "other"])
def test_using_selects_the_database(gridfs_access):
    other = GridFSStorage(using="other", bucket_name="t_storage")
    try:
        other.save("elsewhere.txt", ContentFile(b"x"))
        assert not GridFSStorage(bucket_name="t_storage").exists("elsewhere.txt")
        database = connections["other"].connection.database
        assert database["t_storage.files"].count_documents({"filename": "elsewhere.txt"}) == 1
    finally:
        connections["other"].connection.database["t_storage.files"].drop()
        connections["other"].connection.database["t_storage.chunks"].drop()


def test_a_database_that_is_not_mongodb_is_refused(gridfs_access):
    with pytest.raises(ValueError, match="needs a MongoDB database"):
        GridFSStorage(using="sqlite").exists("a")


def test_server_errors_are_django_database_errors(gridfs_access):
    from django.db import DatabaseError

    storage = GridFSStorage(bucket_name="bad$name")  # "$" is not allowed in collection names
    with pytest.raises(DatabaseError):
        storage.exists("a.txt")
