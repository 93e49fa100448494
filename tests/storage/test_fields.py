"""``FileField`` and ``ImageField`` on ``GridFSStorage``: Django's ``FileFieldStorageTests``
(tests/file_storage in Django's suite) on the models of tests/storageapp, the migration a
field with this storage writes, and what a rolled-back ``atomic()`` leaves.
"""

from __future__ import annotations

import importlib.util
import io
import pickle

import gridfs
import pytest
from django.core.exceptions import SuspiciousFileOperation
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.db.migrations.writer import MigrationWriter
from django.db.models.fields.files import FileDescriptor
from pymongo.errors import InvalidOperation

from django_mongo_backend.storage import GridFSStorage
from tests.storageapp.models import Document, Photo, attachments

FILE_SUFFIX_REGEX = "[A-Za-z0-9]{7}"
HAS_PILLOW = importlib.util.find_spec("PIL") is not None


def test_files(gridfs_access):
    assert isinstance(Document.file, FileDescriptor)
    # An object without a file has limited functionality.
    obj1 = Document()
    assert obj1.file.name == ""
    with pytest.raises(ValueError, match="no file associated"):
        _ = obj1.file.size

    # Saving a file enables full functionality.
    obj1.file.save("django_test.txt", ContentFile("content"))
    assert obj1.file.name == "docs/django_test.txt"
    assert obj1.file.size == 7
    assert obj1.file.read() == b"content"
    obj1.file.close()

    # A file assigned to the field is stored when the object is saved, not before.
    obj1.file = SimpleUploadedFile("assignment.txt", b"content")
    assert "assignment.txt" not in attachments.listdir("docs")[1]
    obj1.save()
    assert attachments.listdir("docs") == ([], ["assignment.txt", "django_test.txt"])

    # Another file of the same name gets another name.
    obj2 = Document()
    obj2.file.save("django_test.txt", ContentFile("more content"))
    obj2_name = obj2.file.name
    assert obj2_name.startswith("docs/django_test_")
    assert obj2.file.size == 12
    obj2.file.close()

    # Deleting an object does not delete its file.
    obj2.delete()
    assert attachments.exists(obj2_name)
    obj2.file.save("django_test.txt", ContentFile("more content"))
    assert obj2.file.name not in (obj2_name, "docs/django_test.txt")


def test_filefield_read(gridfs_access):
    obj = Document.objects.create(file=SimpleUploadedFile("assignment.txt", b"content"))
    obj = Document.objects.get(pk=obj.pk)  # the field file now reads from GridFS
    obj.file.open()
    assert obj.file.read(3) == b"con"
    assert obj.file.read() == b"tent"
    assert list(obj.file.chunks(chunk_size=2)) == [b"co", b"nt", b"en", b"t"]
    obj.file.close()


def test_filefield_write(gridfs_access):
    obj = Document.objects.create(file=SimpleUploadedFile("rewritten.txt", b"content"))
    obj = Document.objects.get(pk=obj.pk)
    with obj.file.storage.open(obj.file.name, "wb") as f:
        f.write(b"updated")
    obj.refresh_from_db()
    assert obj.file.read() == b"updated"
    obj.file.close()


def test_filefield_reopen(gridfs_access):
    obj = Document.objects.create(file=SimpleUploadedFile("reopen.txt", b"content"))
    obj = Document.objects.get(pk=obj.pk)
    with obj.file as file:
        file.open()
    obj.file.open()
    obj.file.file.seek(0)
    assert obj.file.read() == b"content"
    obj.file.close()


@pytest.mark.parametrize(("root", "extension"), [("multiple_files", "txt"), ("many", "tar.gz")])
def test_duplicate_filename(gridfs_access, root, extension):
    objs = [Document() for _ in range(2)]
    for obj in objs:
        obj.file.save(f"{root}.{extension}", ContentFile("Content"))
    first, second = (obj.file.name for obj in objs)
    assert first == f"docs/{root}.{extension}"
    assert second.startswith(f"docs/{root}_")
    assert second.endswith(f".{extension}")


def test_file_truncation(gridfs_access):
    objs = [Document() for _ in range(2)]
    for obj in objs:
        obj.limited.save("filename.ext", ContentFile("Same Content"))
    first, second = (obj.limited.name for obj in objs)
    assert first == "docs/filename.ext"
    assert len(second) == 20
    assert second.startswith("docs/fil_")
    # Too short to truncate into a free name.
    objs[0].limited.save("short.longext", ContentFile("Same Content"))
    with pytest.raises(SuspiciousFileOperation, match="Storage can not find an available"):
        objs[1].limited.save("short.longext", ContentFile("Same Content"))


def test_upload_to_with_a_climb_is_refused(gridfs_access):
    with pytest.raises(SuspiciousFileOperation):
        Document().file.save("../escape.txt", ContentFile("x"))
    with pytest.raises(SuspiciousFileOperation):
        attachments.save("docs/../../escape.txt", ContentFile("x"))
    with pytest.raises(SuspiciousFileOperation):
        attachments.save("/etc/passwd", ContentFile("x"))
    assert attachments.listdir("") == ([], [])


def test_name_is_cleaned_by_get_valid_name(gridfs_access):
    obj = Document()
    obj.file.save("my résumé (final)?.pdf", ContentFile("x"))
    assert obj.file.name == "docs/my_résumé_final.pdf"


def test_filefield_pickling(gridfs_access):
    obj = Document()
    obj.file.save("django_test.txt", ContentFile("more content"))
    obj.file.close()
    copy = pickle.loads(pickle.dumps(obj))
    assert copy.file.name == "docs/django_test.txt"
    assert copy.file.read() == b"more content"
    copy.file.close()


def test_delete_with_the_field(gridfs_access):
    obj = Document.objects.create(file=SimpleUploadedFile("doomed.txt", b"x"))
    name = obj.file.name
    obj.file.delete()
    assert obj.file.name is None
    assert not attachments.exists(name)
    assert Document.objects.get(pk=obj.pk).file.name == ""


def test_url_of_a_field_file(gridfs_access):
    obj = Document.objects.create(file=SimpleUploadedFile("a b.txt", b"x"))
    assert obj.file.url == "/attachments/docs/a_b.txt"


# -- ImageField ----------------------------------------------------------------------------------


def png_bytes(width, height):
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.mark.skipif(not HAS_PILLOW, reason="ImageField needs Pillow (nox installs it)")
def test_image_field_dimensions(gridfs_access):
    photo = Photo.objects.create(image=SimpleUploadedFile("red.png", png_bytes(7, 3)))
    assert (photo.width, photo.height) == (7, 3)
    assert photo.image.name == "photos/red.png"
    # Read back from GridFS: the dimensions come from the stored file.
    photo = Photo.objects.get(pk=photo.pk)
    photo.width = photo.height = None
    photo.image.field.update_dimension_fields(photo, force=True)
    assert (photo.width, photo.height) == (7, 3)
    assert photo.image.width == 7


@pytest.mark.skipif(not HAS_PILLOW, reason="ImageField needs Pillow (nox installs it)")
def test_image_form_validates_the_stored_file(gridfs_access):
    from django import forms

    class PhotoForm(forms.ModelForm):
        class Meta:
            model = Photo
            fields = ["image"]

    good = PhotoForm(files={"image": SimpleUploadedFile("ok.png", png_bytes(2, 2))})
    assert good.is_valid(), good.errors
    photo = good.save()
    assert Photo.objects.get(pk=photo.pk).image.read() == png_bytes(2, 2)
    bad = PhotoForm(files={"image": SimpleUploadedFile("bad.png", b"not an image")})
    assert not bad.is_valid()
    assert attachments.listdir("photos")[1] == ["ok.png"]


# -- migrations -----------------------------------------------------------------------------------


def test_field_serializes_for_migrations():
    field = Document._meta.get_field("file")
    text, imports = MigrationWriter.serialize(field)
    assert "django_mongo_backend.storage.GridFSStorage(" in text
    assert "bucket_name='test_attachments'" in text
    assert "base_url='/attachments/'" in text
    assert "import django_mongo_backend.storage" in imports
    namespace = {}
    exec("\n".join([*sorted(imports), f"field = {text}"]), namespace)
    rebuilt = namespace["field"]
    assert isinstance(rebuilt.storage, GridFSStorage)
    assert rebuilt.storage.deconstruct() == field.storage.deconstruct()
    assert rebuilt.upload_to == field.upload_to


# -- transactions -------------------------------------------------------------------------------


def test_pymongo_refuses_gridfs_in_a_transaction(gridfs_access):
    # The premise of the design (docs/storage.rst, Transactions): MongoDB's manual says GridFS
    # does not support multi-document transactions, and pymongo refuses a session in one.
    client = gridfs_access.client
    bucket = gridfs.GridFSBucket(gridfs_access, bucket_name="t_storage")
    with client.start_session() as session, session.start_transaction():
        with pytest.raises(InvalidOperation, match="GridFS does not support"):
            bucket.upload_from_stream("in-a-transaction.txt", b"x", session=session)
        session.abort_transaction()


def test_files_are_written_outside_the_transaction(gridfs_access):
    # pymongo refuses GridFS in a transaction: the file is stored at once, and a rollback
    # leaves it (as FileSystemStorage leaves a file on disk); the document is rolled back.
    with pytest.raises(RuntimeError), transaction.atomic():
        obj = Document.objects.create(file=SimpleUploadedFile("orphan.txt", b"x"))
        assert attachments.exists("docs/orphan.txt")
        raise RuntimeError
    assert not Document.objects.filter(pk=obj.pk).exists()
    assert attachments.exists("docs/orphan.txt")


def test_delete_on_commit_follows_the_transaction(
    gridfs_access, django_capture_on_commit_callbacks
):
    # The pattern docs/storage.rst recommends: delete once the transaction commits (the test
    # runs in pytest-django's transaction: the callbacks run as its commit would run them).
    attachments.save("docs/keep.txt", ContentFile(b"x"))
    attachments.save("docs/drop.txt", ContentFile(b"x"))
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            transaction.on_commit(lambda: attachments.delete("docs/keep.txt"))
            raise RuntimeError
        with transaction.atomic():
            transaction.on_commit(lambda: attachments.delete("docs/drop.txt"))
            assert attachments.exists("docs/drop.txt")
    assert len(callbacks) == 1
    assert attachments.listdir("docs")[1] == ["keep.txt"]
